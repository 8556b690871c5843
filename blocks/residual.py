"""The two residual blocks, each with its complexity beside it (mirroring its ``__init__``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .counting import Complexity, conv_counts, norm_params
from .layers import DEFAULT, LayerStyle, conv, norm


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
        params, macs, acts, _ = conv_counts(size, in_channels, width, 1, stride, 1, style.conv_bias)
        if style.projection_norm:
            params += norm_params(width)
        return Complexity(params, macs, acts)


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
        # Plain-int counts per layer, one Complexity per block: complexity() is called in loops.
        p1, m1, a1, out = conv_counts(size, in_channels, width, 3, stride, 1, style.conv_bias)
        p2, m2, a2, _ = conv_counts(out, width, width, 3, 1, 1, style.conv_bias)
        total = Complexity(p1 + p2 + 2 * norm_params(width), m1 + m2, a1 + a2)  # bn1, bn2
        if projection:
            total += Projection.complexity(size, in_channels, width, stride, style)
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
        inner, bias = bottleneck_width, style.conv_bias
        p1, m1, a1, _ = conv_counts(size, in_channels, inner, 1, 1, 1, bias)
        p2, m2, a2, out = conv_counts(size, inner, inner, 3, stride, cardinality, bias)
        p3, m3, a3, _ = conv_counts(out, inner, width, 1, 1, 1, bias)
        norms = 2 * norm_params(inner) + norm_params(width)  # bn1, bn2, bn3
        total = Complexity(p1 + p2 + p3 + norms, m1 + m2 + m3, a1 + a2 + a3)
        if projection:
            total += Projection.complexity(size, in_channels, width, stride, style)
        return total, out


def check_grouping(bottleneck_width: int, cardinality: int) -> None:
    if cardinality < 1 or bottleneck_width % cardinality:
        raise ValueError(
            f"bottleneck width {bottleneck_width} is not divisible by cardinality {cardinality}: "
            "choose a cardinality that divides it"
        )
