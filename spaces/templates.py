"""resnext_templates: the ResNeXt paper's equal-complexity templates as one categorical choice.

Xie et al. (2017), Table 2: in ResNeXt-29 for CIFAR (a 3x3 stem of 64, then 3 stages of 3
bottleneck blocks of output widths 256, 512, 1024, strides 1, 2, 2) the templates 1x64d, 2x40d,
4x24d, 8x14d and 32x4d (cardinality C x group width d in the first stage; C stays, d doubles
with the width) cost nearly the same. Here the 1x64d template is scaled to the data and the MAC
budget (widths first, in multiples of 8; then blocks per stage), and every other template keeps
its cardinality and takes the group width (and, where the group width's steps are too coarse,
the output width) whose MACs come nearest the reference's. All templates of one study are then
within ``TOLERANCE`` of the same MACs, or the budget is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from blocks import NetSpec, StageSpec, complexity

from .budget import Budget, BudgetError, quantize

TEMPLATES = {"1x64d": (1, 64), "2x40d": (2, 40), "4x24d": (4, 24), "8x14d": (8, 14), "32x4d": (32, 4)}
REFERENCE_WIDTH = 256  # ResNeXt-29's first-stage output width; the others are 2x and 4x
TOLERANCE = 0.05  # largest spread of MACs between the templates of one study


@dataclass(frozen=True)
class ResNeXtTemplates:
    templates: tuple[str, ...] = tuple(TEMPLATES)  # which of TEMPLATES the space offers
    depth: int = 3  # blocks per stage, as in ResNeXt-29 (fewer when the budget needs it)

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        return self.specs(budget)[trial.suggest_categorical("template", self.templates)]

    def grid(self) -> dict[str, list]:
        """Every choice of the space, for ``--sampler grid``."""
        return {"template": list(self.templates)}

    def configurations(self, budget: Budget) -> int:
        return len(self.templates)

    def specs(self, budget: Budget) -> dict[str, NetSpec]:
        """Each template's network for ``budget``, all within TOLERANCE of the same MACs."""
        reference = self._reference(budget)
        target = complexity(reference, budget.image_size).macs
        specs = {name: self._match(name, reference, target, budget) for name in self.templates}
        macs = {name: complexity(spec, budget.image_size).macs for name, spec in specs.items()}
        if max(macs.values()) > (1 + TOLERANCE) * min(macs.values()):
            raise BudgetError(f"the templates cannot be matched within {TOLERANCE:.0%} of the same MACs at this budget "
                              f"({budget.describe()}; MACs {macs}): raise the MACs bound")
        return specs

    def _reference(self, budget: Budget) -> NetSpec:
        """The largest 1x64d network that fits: the widest first-stage width (<= 256) at full
        depth, fewer blocks per stage only when that width would fall below the width at which
        every template still has a group width of at least 1 (64 for 32x4d)."""
        floor = quantize(max(REFERENCE_WIDTH / TEMPLATES[t][1] for t in self.templates))
        best = None
        for depth in range(self.depth, 0, -1):
            for width in range(REFERENCE_WIDTH, 7, -8):
                spec = _spec(budget, width, 1, max(1, round(64 * width / REFERENCE_WIDTH)), depth)
                if budget.violation(spec) != "over":
                    break
            else:
                continue
            best = spec
            if width >= floor:
                break
        if best is None or not budget.fits(best):
            raise BudgetError(f"no scaling of the ResNeXt templates fits the budget ({budget.describe()})")
        return best

    def _match(self, name: str, reference: NetSpec, target: int, budget: Budget) -> NetSpec:
        """The template's nearest network to ``target`` MACs: the output width closest to the
        reference's whose best group width lands within half the tolerance (else within 80% of
        it, else the nearest overall)."""
        cardinality, group_width = TEMPLATES[name]
        width, depth = reference.stages[0].width, reference.stages[0].depth
        ideal = group_width * width / REFERENCE_WIDTH
        candidates = []  # (relative MAC error, spec), output widths nearest the reference's first
        for w in sorted(range(quantize(0.5 * width), quantize(1.5 * width) + 1, 8), key=lambda w: abs(w - width)):
            spec = _nearest_group_width(budget, w, cardinality, ideal, depth, target)
            if budget.fits(spec):
                candidates.append((abs(complexity(spec, budget.image_size).macs - target) / target, spec))
                if candidates[-1][0] <= TOLERANCE / 2:
                    return spec
        if not candidates:
            raise BudgetError(f"template {name} cannot be fitted to the budget ({budget.describe()})")
        near = [spec for error, spec in candidates if error <= 0.8 * TOLERANCE]
        return near[0] if near else min(candidates, key=lambda c: c[0])[1]


def _spec(budget: Budget, width: int, cardinality: int, group_width: int, depth: int) -> NetSpec:
    """ResNeXt-29's shape: 3 stages (fewer for tiny images), widths w, 2w, 4w; C groups of d,
    2d, 4d channels; a 3x3 stem of a quarter of the first width, as 64 is of 256."""
    stages = min(3, budget.max_stages)
    ratio = cardinality * group_width / width
    layers = tuple(StageSpec(depth, width << i, stride, "bottleneck", ratio, cardinality)
                   for i, stride in enumerate(budget.strides(stages)))
    stem_width = quantize(width * 64 / REFERENCE_WIDTH)
    return NetSpec(layers, budget.stem, stem_width, 0, budget.in_channels, budget.num_classes)


def _nearest_group_width(budget: Budget, width: int, cardinality: int, ideal: float, depth: int, target: int) -> NetSpec:
    """The group width (>= 1) whose network's MACs come nearest ``target``: MACs grow with the
    group width, so a bisection finds the first at or above it; that or the one below."""
    low, high = 1, max(2, int(4 * ideal) + 2)
    while low < high:
        mid = (low + high) // 2
        if complexity(_spec(budget, width, cardinality, mid, depth), budget.image_size).macs < target:
            low = mid + 1
        else:
            high = mid
    candidates = [_spec(budget, width, cardinality, g, depth) for g in {max(1, low - 1), low}]
    return min(candidates, key=lambda s: abs(complexity(s, budget.image_size).macs - target))
