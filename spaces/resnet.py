"""resnet: basic blocks; number of stages, per-stage depth and width (quantized log scale)."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from blocks import NetSpec, StageSpec

from .budget import Budget, fit, quantize, scale_depth


@dataclass(frozen=True)
class ResNetSpace:
    """Stages 1..max (by image size), depth 1..``max_depth``, width ``min_width``..``max_width``
    on a log scale rounded to multiples of 8; the stem is as wide as the first stage."""

    max_depth: int = 4
    min_width: int = 16
    max_width: int = 512

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        stages = trial.suggest_int("stages", 1, budget.max_stages)
        depths = [trial.suggest_int(f"depth_{i}", 1, self.max_depth) for i in range(1, stages + 1)]
        widths = [trial.suggest_int(f"width_{i}", self.min_width, self.max_width, log=True) for i in range(1, stages + 1)]

        def draft(width_scale: float, depth_scale: float, _relax: int) -> NetSpec:
            ws = [quantize(w * width_scale) for w in widths]
            layers = tuple(
                StageSpec(scale_depth(d, depth_scale), w, s) for d, w, s in zip(depths, ws, budget.strides(stages))
            )
            return NetSpec(layers, budget.stem, ws[0], 0, budget.in_channels, budget.num_classes)

        return fit(draft, budget, relax_levels=1)  # no grouping to relax

    def configurations(self, budget: Budget) -> int:
        """Distinct (stages, depths, quantized widths) before budget repairs."""
        widths = len({quantize(w) for w in range(self.min_width, self.max_width + 1)})
        per_stage = self.max_depth * widths
        return sum(per_stage**n for n in range(1, budget.max_stages + 1))
