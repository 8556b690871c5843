"""The seed's classes (d2l, "Residual Networks (ResNet) and ResNeXt") as thin configurations of
the general blocks: same constructor signatures, lazy modules and conv biases as the seed has them,
and a BN on the 1x1 projection of the ResNeXt block only."""

from __future__ import annotations

import torch
from torch import nn

from .layers import D2L, D2L_RESNEXT
from .net import Net
from .residual import BasicBlock, BottleneckBlock
from .spec import NetSpec, StageSpec


class Residual(BasicBlock):
    """The seed's residual block: two 3x3 convs of ``num_channels``; a 1x1 projection (no BN)
    when ``use_1x1conv``; ``strides`` on the first conv and the projection."""

    def __init__(self, num_channels: int, use_1x1conv: bool = False, strides: int = 1) -> None:
        super().__init__(None, num_channels, strides, projection=use_1x1conv, style=D2L)


class ResNeXtBlock(BottleneckBlock):
    """The seed's ResNeXt block. Beware: ``groups`` is the channels PER GROUP (group width), not
    the number of groups. The 3x3 conv has ``bot_channels // groups`` groups, where
    ``bot_channels = round(num_channels * bot_mul)``; so ``ResNeXtBlock(32, 16, 1)`` has a
    cardinality of 2. New code should use ``BottleneckBlock(..., cardinality=...)``."""

    def __init__(
        self, num_channels: int, groups: int, bot_mul: float, use_1x1conv: bool = False, strides: int = 1
    ) -> None:
        bot_channels = int(round(num_channels * bot_mul))
        cardinality = bot_channels // groups
        super().__init__(None, num_channels, bot_channels, cardinality, strides, projection=use_1x1conv, style=D2L_RESNEXT)


def d2l_spec(arch: tuple[tuple[int, int], ...], num_classes: int = 10, in_channels: int = 1) -> NetSpec:
    """The seed's ResNet(arch): 7x7/2 stem with max-pool, (num_residuals, num_channels) stages,
    stride 2 in every stage but the first."""
    stages = tuple(StageSpec(depth=d, width=w, stride=1 if i == 0 else 2) for i, (d, w) in enumerate(arch))
    return NetSpec(stages=stages, stem="imagenet", stem_width=64, in_channels=in_channels, num_classes=num_classes)


class ResNet(nn.Module):
    """The seed's ResNet: ``self.net`` is stem, one Sequential per stage, head."""

    def __init__(self, arch: tuple[tuple[int, int], ...], lr: float = 0.1, num_classes: int = 10) -> None:
        super().__init__()
        self.lr = lr  # kept for the seed's signature; training reads its own config
        self.net = Net(d2l_spec(arch, num_classes), style=D2L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def layer_summary(self, x_shape: tuple[int, ...]) -> None:
        x = torch.randn(*x_shape)
        for layer in self.net:
            x = layer(x)
            print(layer.__class__.__name__, "output shape:\t", x.shape)


class ResNet18(ResNet):
    def __init__(self, lr: float = 0.1, num_classes: int = 10) -> None:
        super().__init__(((2, 64), (2, 128), (2, 256), (2, 512)), lr, num_classes)
