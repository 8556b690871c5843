"""Budgets the space tests share: CIFAR at 10 and 50 MMACs, the digits default, ImageNet."""

from spaces import Budget

BUDGETS = {
    "cifar-10M": Budget.from_millions(32, 3, 10, 0, 10),
    "cifar-50M": Budget.from_millions(32, 3, 10, 0, 50),
    "digits-2M": Budget.from_millions(8, 1, 10, 0, 2),
    "imagenet-600M": Budget.from_millions(224, 3, 1000, 0, 600),
}
