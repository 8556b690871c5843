"""resnext_v2: a ResNeXt space where good designs are common (RegNet's lessons, the seed's rule).

The ``resnext`` space samples each stage's width on its own and then shrinks every width by one
factor to fit the budget; at small budgets most samples come out narrow and oddly shaped
(widths that fall from stage to stage, bottlenecks of 2 channels). Here, as pycls went from
AnyNetX_A to E (Radosavovic et al. 2020) and as the seed and ResNeXt do:

- every stage the image allows (RegNet fixes the stage count too);
- a start width, then a growth factor per stage in {1, 1.5, 2, 2.5}: widths never fall, and
  doubling where the resolution halves is one choice among them;
- depths sampled per stage and sorted, so they never fall either;
- one bottleneck ratio and one cardinality for the whole network (sharing them loses nothing
  in RegNet's measurements); cardinality still free from 1 to 64;
- floors: a bottleneck width of at least ``min_bottleneck`` channels and a group width of at
  least ``min_group_width``: a stage too narrow for the sampled cardinality takes the largest
  offered one that keeps them (so cardinality never falls from stage to stage);
- fitted to the budget as a whole (one width scale, then depth): the first, full-resolution
  stage's cost counts as much as the rest, so a wide start is traded for narrower growth.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from blocks import NetSpec, StageSpec

from .budget import Budget, compatible_cardinality, fit, quantize, scale_depth

CARDINALITIES = (1, 2, 4, 8, 16, 32, 64)
BOTTLENECK_RATIOS = (0.25, 0.5, 1.0)
GROWTH = (1.0, 1.5, 2.0, 2.5)


@dataclass(frozen=True)
class ResNeXtV2Space:
    max_depth: int = 4  # blocks per stage, sampled 1..max_depth and sorted
    min_width: int = 16  # range of the first stage's width (log scale, multiples of 8)
    max_width: int = 256
    min_bottleneck: int = 8  # channels of a bottleneck's 3x3 conv, at least
    min_group_width: int = 2  # channels per group, at least
    cardinalities: tuple[int, ...] = CARDINALITIES
    bottleneck_ratios: tuple[float, ...] = BOTTLENECK_RATIOS
    growth: tuple[float, ...] = GROWTH

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        stages = budget.max_stages
        start = trial.suggest_int("width", self.min_width, self.max_width, log=True)
        growth = [trial.suggest_categorical(f"growth_{i}", self.growth) for i in range(2, stages + 1)]
        depths = sorted(trial.suggest_int(f"depth_{i}", 1, self.max_depth) for i in range(1, stages + 1))
        ratio = trial.suggest_categorical("bottleneck_ratio", self.bottleneck_ratios)
        cardinality = trial.suggest_categorical("cardinality", self.cardinalities)
        widths = [float(start)]
        for g in growth:
            widths.append(widths[-1] * g)

        def draft(width_scale: float, depth_scale: float, relax: int) -> NetSpec:
            floor = quantize(self.min_bottleneck / ratio)
            layers, previous = [], 0
            for width, depth, stride in zip(widths, depths, budget.strides(stages)):
                width = max(quantize(width * width_scale), previous, floor)
                width, groups = compatible_cardinality(width, ratio, self._cap(cardinality >> relax, width, ratio))
                layers.append(StageSpec(scale_depth(depth, depth_scale), width, stride, "bottleneck", ratio, groups))
                previous = width
            return NetSpec(tuple(layers), budget.stem, quantize(min(64, layers[0].width)), 0,
                           budget.in_channels, budget.num_classes)

        return fit(draft, budget)

    def _cap(self, cardinality: int, width: int, ratio: float) -> int:
        """The largest offered cardinality that leaves ``min_group_width`` channels per group in
        a stage of ``width``: a narrow early stage may take fewer groups than the later ones."""
        limit = max(1, min(cardinality, int(round(width * ratio)) // self.min_group_width))
        return max((c for c in self.cardinalities if c <= limit), default=1)

    def configurations(self, budget: Budget) -> int:
        widths = len({quantize(w) for w in range(self.min_width, self.max_width + 1)})
        stages = budget.max_stages
        return (widths * len(self.growth) ** (stages - 1) * self.max_depth**stages
                * len(self.bottleneck_ratios) * len(self.cardinalities))
