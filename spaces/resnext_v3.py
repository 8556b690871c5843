"""resnext_v3: a residual design space in which the hand designs are points.

Per network: the number of stages, the stem's width and whether the first stage halves the
size. Per stage: how it downsamples (in its first block, or by a conv and max-pool before its
blocks), its depth (0..4; 0 only for a pooled stage), its width (multiples of 8), its block
(basic or bottleneck) and, for a bottleneck, its cardinality and group width (the bottleneck
width is their product). Every value a hand design of ``designs.py`` takes is one this space
samples, so ``params_of(design.spec(budget))`` replays the design exactly (``--start-from``).

The budget's repair spends it: a sample is scaled (widths, then depths, as ``budget.fit``) into
[``SPEND`` x the maximum MACs, the maximum], so no trial is a network far smaller than the
budget allows; a sample already in that window is kept as it is, which is how a hand design
(each spends at least 60% of it) stays itself. Where the widths' 8-channel steps jump over the
window (a wide stage at full resolution), the sample takes the widest step under the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import optuna

from blocks import NetSpec, StageSpec

from .budget import Budget, BudgetError, fit, quantize, scale_depth
from .designs import widest

SPEND = 0.5  # the share of the maximum MACs a network of this space spends at least
CARDINALITIES = (1, 2, 4, 8, 16, 32, 64)
MAX_DEPTH = 4
MAX_WIDTH_UNITS = 128  # widths up to 1024 in multiples of 8
MAX_GROUP_WIDTH = 128
MAX_STEM_UNITS = 16  # stems up to 128


@dataclass(frozen=True)
class ResNeXtV3Space:
    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        stages = trial.suggest_int("stages", 1, budget.max_stages)
        stem = 8 * trial.suggest_int("stem_units", 1, MAX_STEM_UNITS, log=True)
        first_stride = trial.suggest_categorical("stride_1", [1, 2])
        layers = [self._stage(trial, i, first_stride if i == 1 else 2) for i in range(1, stages + 1)]

        def draft(width_scale: float, depth_scale: float, relax: int) -> NetSpec:
            scaled = tuple(_scaled(s, width_scale, depth_scale, relax) for s in layers)
            stem_width = stem if width_scale == 1 else quantize(stem * width_scale)
            return NetSpec(scaled, budget.stem, stem_width, 0, budget.in_channels, budget.num_classes)

        try:
            return fit(draft, spending(budget))
        except BudgetError:  # the 8-channel width steps jump over the window: the widest under the maximum
            return widest(lambda w, d: draft(w, d, 0), budget, "this sample")

    def _stage(self, trial: optuna.Trial, i: int, stride: int) -> StageSpec:
        downsample = trial.suggest_categorical(f"downsample_{i}", ["stride", "pool"])
        depth = trial.suggest_int(f"depth_{i}", 0, MAX_DEPTH)
        width = 8 * trial.suggest_int(f"width_units_{i}", 1, MAX_WIDTH_UNITS, log=True)
        block = trial.suggest_categorical(f"block_{i}", ["basic", "bottleneck"])
        depth = depth if downsample == "pool" else max(1, depth)  # a strided stage needs its first block
        if block == "basic":
            return StageSpec(depth, width, stride, "basic", downsample=downsample)
        cardinality = trial.suggest_categorical(f"cardinality_{i}", CARDINALITIES)
        group_width = trial.suggest_int(f"group_width_{i}", 1, MAX_GROUP_WIDTH, log=True)
        return StageSpec(depth, width, stride, "bottleneck", cardinality * group_width / width, cardinality, downsample)

    def params_of(self, spec: NetSpec) -> dict[str, Any]:
        return params_of(spec)

    def configurations(self, budget: Budget) -> float:
        basic = MAX_WIDTH_UNITS
        bottleneck = MAX_WIDTH_UNITS * len(CARDINALITIES) * MAX_GROUP_WIDTH
        per_stage = 2 * (MAX_DEPTH + 1) * (basic + bottleneck)
        return 2 * MAX_STEM_UNITS * sum(per_stage**n for n in range(1, budget.max_stages + 1))


def _scaled(stage: StageSpec, width_scale: float, depth_scale: float, relax: int) -> StageSpec:
    """The stage with widths scaled (the group width with them, the cardinality halved ``relax``
    times) and depth scaled; at scale 1 and no relaxing, the stage as sampled."""
    depth = stage.depth and scale_depth(stage.depth, depth_scale)
    if width_scale == 1 and not relax:
        return replace(stage, depth=depth)
    width = quantize(stage.width * width_scale)
    if stage.block == "basic":
        return replace(stage, depth=depth, width=width)
    cardinality = max(1, stage.cardinality >> relax)
    group_width = max(1, round(stage.bottleneck_width * width_scale / cardinality))
    return replace(stage, depth=depth, width=width, cardinality=cardinality,
                   bottleneck_ratio=cardinality * group_width / width)


def spending(budget: Budget) -> Budget:
    """``budget`` with its minimum raised to ``SPEND`` of its maximum MACs (when it has one)."""
    if budget.max_macs is None:
        return budget
    return replace(budget, min_macs=max(budget.min_macs, int(SPEND * budget.max_macs)))


def params_of(spec: NetSpec) -> dict[str, Any]:
    """The sampled values that rebuild ``spec`` (strides 2 after the first stage; widths and
    the stem in multiples of 8), for queueing a known network as a trial."""
    params: dict[str, Any] = {"stages": len(spec.stages), "stem_units": spec.stem_width // 8,
                              "stride_1": spec.stages[0].stride}
    for i, stage in enumerate(spec.stages, start=1):
        params.update({f"downsample_{i}": stage.downsample, f"depth_{i}": stage.depth,
                       f"width_units_{i}": stage.width // 8, f"block_{i}": stage.block})
        if stage.block == "bottleneck":
            params.update({f"cardinality_{i}": stage.cardinality, f"group_width_{i}": stage.group_width})
    return params
