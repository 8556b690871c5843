"""resnext: bottleneck blocks; per stage depth, width, bottleneck_ratio and cardinality."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from blocks import NetSpec, StageSpec

from .budget import Budget, compatible_cardinality, fit, quantize, scale_depth

CARDINALITIES = (1, 2, 4, 8, 16, 32, 64)
BOTTLENECK_RATIOS = (0.25, 0.5, 1.0)


@dataclass(frozen=True)
class ResNeXtSpace:
    """Stages 1..max (by image size); per stage depth 1..``max_depth``, width
    ``min_width``..``max_width`` (log scale, multiples of 8), a bottleneck ratio and a
    cardinality (1 included, so the dense network is in the space). Widths are repaired so the
    bottleneck width divides by the cardinality (capped at the bottleneck width)."""

    max_depth: int = 4
    min_width: int = 32
    max_width: int = 1024
    cardinalities: tuple[int, ...] = CARDINALITIES
    bottleneck_ratios: tuple[float, ...] = BOTTLENECK_RATIOS

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        stages = trial.suggest_int("stages", 1, budget.max_stages)
        sampled = []
        for i in range(1, stages + 1):
            sampled.append((
                trial.suggest_int(f"depth_{i}", 1, self.max_depth),
                trial.suggest_int(f"width_{i}", self.min_width, self.max_width, log=True),
                trial.suggest_categorical(f"bottleneck_ratio_{i}", self.bottleneck_ratios),
                trial.suggest_categorical(f"cardinality_{i}", self.cardinalities),
            ))

        def draft(width_scale: float, depth_scale: float, relax: int) -> NetSpec:
            layers = []
            for (depth, width, ratio, cardinality), stride in zip(sampled, budget.strides(stages)):
                width = quantize(width * width_scale)
                cardinality = self._cap(cardinality >> relax, int(round(width * ratio)))
                width, cardinality = compatible_cardinality(width, ratio, cardinality)
                layers.append(StageSpec(scale_depth(depth, depth_scale), width, stride, "bottleneck", ratio, cardinality))
            stem_width = quantize(min(64, layers[0].width))
            return NetSpec(tuple(layers), budget.stem, stem_width, 0, budget.in_channels, budget.num_classes)

        return fit(draft, budget)

    def _cap(self, cardinality: int, inner: int) -> int:
        """The largest offered cardinality up to the bottleneck width: narrow stages keep a
        cardinality from the list, so results group by the values the sampler offered."""
        limit = max(1, min(cardinality, inner))
        return max((c for c in self.cardinalities if c <= limit), default=1)

    def configurations(self, budget: Budget) -> int:
        widths = len({quantize(w) for w in range(self.min_width, self.max_width + 1)})
        per_stage = self.max_depth * widths * len(self.bottleneck_ratios) * len(self.cardinalities)
        return sum(per_stage**n for n in range(1, budget.max_stages + 1))
