"""The two residual blocks, each with its complexity beside it (mirroring its ``__init__``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .complexity import Complexity
from .layers import DEFAULT, LayerStyle, conv, conv_cx, norm
from .complexity import norm as norm_cx


def needs_projection(in_channels: int | None, width: int, stride: int) -> bool:
    return stride != 1 or in_channels != width


class Projection(nn.Sequential):
    """Shortcut 1x1 conv (stride ``stride``), followed by a BN unless the style omits it."""

    def __init__(self, in_channels: int | None, width: int, stride: int, style: LayerStyle) -> None:
        layers = [conv(style, in_channels, width, 1, stride)]
        if style.projection_norm:
            layers.append(norm(style, width))
        super().__init__(*layers)

    @staticmethod
    def complexity(size: int, in_channels: int, width: int, stride: int, style: LayerStyle) -> Complexity:
        total, _ = conv_cx(style, size, in_channels, width, 1, stride)
        return total + norm_cx(width) if style.projection_norm else total


class BasicBlock(nn.Module):
    """x -> 3x3 (stride), BN, ReLU -> 3x3, BN -> + shortcut(x) -> ReLU."""

    def __init__(
        self,
        in_channels: int | None,
        width: int,
        stride: int = 1,
        projection: bool | None = None,
        style: LayerStyle = DEFAULT,
    ) -> None:
        super().__init__()
        if projection is None:
            projection = needs_projection(in_channels, width, stride)
        self.conv1 = conv(style, in_channels, width, 3, stride)
        self.bn1 = norm(style, width)
        self.conv2 = conv(style, width, width, 3)
        self.bn2 = norm(style, width)
        self.proj = Projection(in_channels, width, stride, style) if projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = self.proj(x) if self.proj is not None else x
        return F.relu(y + shortcut)

    @staticmethod
    def complexity(
        size: int,
        in_channels: int,
        width: int,
        stride: int = 1,
        projection: bool | None = None,
        style: LayerStyle = DEFAULT,
    ) -> tuple[Complexity, int]:
        if projection is None:
            projection = needs_projection(in_channels, width, stride)
        c1, out = conv_cx(style, size, in_channels, width, 3, stride)
        c2, _ = conv_cx(style, out, width, width, 3)
        total = c1 + c2 + norm_cx(width) * 2
        if projection:
            total = total + Projection.complexity(size, in_channels, width, stride, style)
        return total, out


class BottleneckBlock(nn.Module):
    """x -> 1x1, BN, ReLU -> 3x3 (stride, ``cardinality`` groups), BN, ReLU -> 1x1, BN
    -> + shortcut(x) -> ReLU. The inner convs have ``bottleneck_width`` channels."""

    def __init__(
        self,
        in_channels: int | None,
        width: int,
        bottleneck_width: int,
        cardinality: int = 1,
        stride: int = 1,
        projection: bool | None = None,
        style: LayerStyle = DEFAULT,
    ) -> None:
        super().__init__()
        check_grouping(bottleneck_width, cardinality)
        if projection is None:
            projection = needs_projection(in_channels, width, stride)
        self.conv1 = conv(style, in_channels, bottleneck_width, 1)
        self.bn1 = norm(style, bottleneck_width)
        self.conv2 = conv(style, bottleneck_width, bottleneck_width, 3, stride, groups=cardinality)
        self.bn2 = norm(style, bottleneck_width)
        self.conv3 = conv(style, bottleneck_width, width, 1)
        self.bn3 = norm(style, width)
        self.proj = Projection(in_channels, width, stride, style) if projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = self.proj(x) if self.proj is not None else x
        return F.relu(y + shortcut)

    @staticmethod
    def complexity(
        size: int,
        in_channels: int,
        width: int,
        bottleneck_width: int,
        cardinality: int = 1,
        stride: int = 1,
        projection: bool | None = None,
        style: LayerStyle = DEFAULT,
    ) -> tuple[Complexity, int]:
        check_grouping(bottleneck_width, cardinality)
        if projection is None:
            projection = needs_projection(in_channels, width, stride)
        c1, _ = conv_cx(style, size, in_channels, bottleneck_width, 1)
        c2, out = conv_cx(style, size, bottleneck_width, bottleneck_width, 3, stride, cardinality)
        c3, _ = conv_cx(style, out, bottleneck_width, width, 1)
        total = c1 + c2 + c3 + norm_cx(bottleneck_width) * 2 + norm_cx(width)
        if projection:
            total = total + Projection.complexity(size, in_channels, width, stride, style)
        return total, out


def check_grouping(bottleneck_width: int, cardinality: int) -> None:
    if cardinality < 1 or bottleneck_width % cardinality:
        raise ValueError(
            f"bottleneck width {bottleneck_width} is not divisible by cardinality {cardinality}: "
            "choose a cardinality that divides it"
        )
