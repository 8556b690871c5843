"""What grouping saves: a network against its dense twin (same spec, cardinality 1)."""

from __future__ import annotations

from dataclasses import dataclass

from . import counting as cx
from .net import complexity, stage_input_sizes
from .spec import NetSpec


@dataclass(frozen=True)
class GroupingReduction:
    """Params and MACs of a network and of its dense twin, and what grouping saves.

    ``conv3x3_macs`` / ``conv3x3_macs_dense`` cover the bottleneck 3x3 convs alone: each costs
    exactly 1/cardinality of its dense version, so their reduction is the MAC-weighted
    1 - 1/cardinality; the whole-network reduction is smaller since 1x1 convs stay dense."""

    params: int
    macs: int
    params_dense: int
    macs_dense: int
    conv3x3_macs: int
    conv3x3_macs_dense: int

    @property
    def param_reduction(self) -> float:
        return 1 - self.params / self.params_dense

    @property
    def flop_reduction(self) -> float:
        return 1 - self.macs / self.macs_dense

    @property
    def conv3x3_reduction(self) -> float:
        return 1 - self.conv3x3_macs / self.conv3x3_macs_dense if self.conv3x3_macs_dense else 0.0

    def to_dict(self) -> dict[str, float]:
        names = ("params", "macs", "params_dense", "macs_dense", "param_reduction", "flop_reduction")
        return {name: getattr(self, name) for name in names} | {"conv3x3_reduction": self.conv3x3_reduction}


def _grouped_conv_macs(spec: NetSpec, image_size: int) -> int:
    """MACs of the 3x3 convs of bottleneck blocks, the only convs that grouping changes."""
    total = 0
    for stage, size in zip(spec.stages, stage_input_sizes(spec, image_size)):
        if stage.block != "bottleneck":
            continue
        inner = stage.bottleneck_width
        if stage.downsample == "pool":  # every block runs at the pooled size, stride 1
            pooled = cx.pool(size, stage.stride, stage.stride, 0) if stage.stride > 1 else size
            block, _ = cx.conv(pooled, inner, inner, 3, 1, stage.cardinality)
            total += block.macs * stage.depth
            continue
        first, out = cx.conv(size, inner, inner, 3, stage.stride, stage.cardinality)
        rest, _ = cx.conv(out, inner, inner, 3, 1, stage.cardinality)
        total += first.macs + rest.macs * (stage.depth - 1)
    return total


def grouping_reduction(spec: NetSpec, image_size: int) -> GroupingReduction:
    own, dense = complexity(spec, image_size), complexity(spec.dense(), image_size)
    return GroupingReduction(
        own.params, own.macs, dense.params, dense.macs,
        _grouped_conv_macs(spec, image_size), _grouped_conv_macs(spec.dense(), image_size),
    )
