"""resnext_templates: ResNeXt's equal-complexity templates, scaled to the data and the budget."""

from __future__ import annotations

import pytest

from blocks import complexity
from spaces import Budget, BudgetError, SPACES
from spaces.templates import TEMPLATES, TOLERANCE

SPACE = SPACES["resnext_templates"]
BUDGETS = {
    "digits-default": Budget(8, 1, 10, max_macs=2_000_000),  # what `--dataset digits` gets by default
    "cifar-16M": Budget(16, 3, 10, max_macs=5_000_000),
    "cifar-50M": Budget(32, 3, 10, max_macs=50_000_000),
    "cifar-unbounded": Budget(32, 3, 10),
}


@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS)
def test_every_template_fits_within_tolerance_of_the_same_macs(budget):
    specs = SPACE.specs(budget)
    macs = [complexity(s, budget.image_size).macs for s in specs.values()]
    assert max(macs) <= (1 + TOLERANCE) * min(macs) and all(budget.fits(s) for s in specs.values())
    for name, spec in specs.items():
        assert {s.cardinality for s in spec.stages} == {TEMPLATES[name][0]}  # C stays, the group width doubles
        assert [s.group_width for s in spec.stages] == [spec.stages[0].group_width * 2**i for i in range(len(spec.stages))]


def test_at_full_size_the_templates_are_resnext29():
    specs = SPACE.specs(BUDGETS["cifar-unbounded"])
    reference = specs["1x64d"]
    assert [s.width for s in reference.stages] == [256, 512, 1024] and [s.depth for s in reference.stages] == [3, 3, 3]
    assert round(complexity(reference, 32).macs / 1e6) == 748  # ResNeXt-29 1x64d on 32px images
    assert specs["32x4d"].stages[0].group_width == 4 and specs["2x40d"].stages[0].group_width == 40


def test_grid_and_a_budget_too_small_for_the_templates():
    assert SPACE.grid() == {"template": list(TEMPLATES)}
    with pytest.raises(BudgetError):
        SPACE.specs(Budget(32, 3, 10, max_macs=1_000_000))
