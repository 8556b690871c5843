"""The hand designs a search is compared against, each fitted to a budget by one stated rule.

The rule (``widest``): keep the design's shape (stages, depths, downsampling, block kinds, width
ratios between stages) and scale every width, stem included, by the largest factor of the
ladder 2^(k/8) (k = -56..32, widths rounded to multiples of 8) whose network stays within the
budget's maximum; a design too large even at the narrowest widths then loses depth, in steps of
2^(-1/4), as ``budget.fit`` does. So every design spends the budget as fully as its shape
allows, and two designs at one budget are compared at (nearly) equal MACs. A design that falls
under the budget's minimum at its widest is refused. ResNeXt's templates keep their own
matching rule (``templates.py``: all templates within 5 % of one MACs).

Sources: He et al. 2016, Sec. 4.2 (CIFAR ResNets of 6n+2 layers: 16, 32, 64 channels);
Page 2018 and Jordan's airbench (ResNet-9: conv and max-pool downsampling, wide late stages);
``bench/space_vs_handbuilt.py`` (three basic blocks, one per stage, each halving the size).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from blocks import NetSpec, StageSpec

from .budget import Budget, BudgetError, quantize, scale_depth
from .templates import TEMPLATES, ResNeXtTemplates

WIDTH_SCALES = tuple(2 ** (k / 8) for k in range(-56, 33))  # narrowest first
DEPTH_SCALES = (1.0, *(2 ** (-k / 4) for k in range(1, 17)))


class Design(Protocol):
    name: str

    def spec(self, budget: Budget) -> NetSpec: ...


@dataclass(frozen=True)
class Shape:
    """A design as a shape: its stages and stem at scale 1, fitted to a budget by ``widest``."""

    name: str
    source: str  # where the design comes from
    stem_width: int
    stages: tuple[StageSpec, ...]

    def spec(self, budget: Budget) -> NetSpec:
        return widest(self._draft(budget), budget, self.name)

    def _draft(self, budget: Budget):
        stages = self.stages[: budget.max_stages]  # tiny images take fewer halvings

        def draft(width_scale: float, depth_scale: float) -> NetSpec:
            layers = tuple(replace(s, width=quantize(s.width * width_scale),
                                   depth=s.depth and scale_depth(s.depth, depth_scale)) for s in stages)
            return NetSpec(layers, budget.stem, quantize(self.stem_width * width_scale), 0,
                           budget.in_channels, budget.num_classes)

        return draft


@dataclass(frozen=True)
class Template:
    """One of ResNeXt-29's equal-complexity templates (Xie et al. 2017, Table 2)."""

    name: str
    template: str  # a key of templates.TEMPLATES

    def spec(self, budget: Budget) -> NetSpec:
        return ResNeXtTemplates(templates=(self.template,)).specs(budget)[self.template]


def widest(draft, budget: Budget, name: str = "design") -> NetSpec:
    """``draft(width_scale, depth_scale)`` at the widest scale within the budget's maximum (full
    depth first); BudgetError when no scale fits."""
    for depth_scale in DEPTH_SCALES:
        low, high = 0, len(WIDTH_SCALES)  # first index whose network is over the maximum
        while low < high:
            mid = (low + high) // 2
            if budget.violation(draft(WIDTH_SCALES[mid], depth_scale)) == "over":
                high = mid
            else:
                low = mid + 1
        if low == 0:
            continue  # over even at the narrowest widths: less depth
        spec = draft(WIDTH_SCALES[low - 1], depth_scale)
        if budget.fits(spec):
            return spec
        break  # under the minimum at its widest
    raise BudgetError(f"hand design {name!r} cannot be fitted to the budget ({budget.describe()})")


def _basic(*stages: tuple[int, int, int]) -> tuple[StageSpec, ...]:
    return tuple(StageSpec(depth, width, stride) for depth, width, stride in stages)


def _pooled(*stages: tuple[int, int]) -> tuple[StageSpec, ...]:
    return tuple(StageSpec(depth, width, 2, downsample="pool") for depth, width in stages)


DESIGNS: dict[str, Design] = {design.name: design for design in (
    Shape("resnet8", "He et al. 2016, CIFAR ResNet, n = 1", 16, _basic((1, 16, 1), (1, 32, 2), (1, 64, 2))),
    Shape("resnet20", "He et al. 2016, CIFAR ResNet, n = 3", 16, _basic((3, 16, 1), (3, 32, 2), (3, 64, 2))),
    Shape("resnet9", "Page 2018 / airbench: conv + max-pool downsampling, wide late stages", 64,
          _pooled((1, 128), (0, 256), (1, 512))),
    Shape("basic3", "bench/space_vs_handbuilt.py: one basic block per stage, each halving", 16,
          _basic((1, 32, 2), (1, 64, 2), (1, 64, 2))),
    *(Template(f"resnext29_{t}", t) for t in TEMPLATES),
)}


def get(names: str) -> tuple[Design, ...]:
    """``hand`` (every design) or a comma list of DESIGNS' names; ValueError naming an unknown one."""
    if names == "hand":
        return tuple(DESIGNS.values())
    chosen = [n.strip() for n in names.split(",")]
    unknown = [n for n in chosen if n not in DESIGNS]
    if unknown or not chosen:
        raise ValueError(f"unknown hand design {unknown[0] if unknown else names!r}: choose from hand (all) or "
                         f"{', '.join(DESIGNS)}")
    return tuple(DESIGNS[n] for n in dict.fromkeys(chosen))


@dataclass(frozen=True)
class DesignSpace:
    """The hand designs as a space of one categorical choice, each fitted to the study's budget:
    ``--space hand_designs --sampler grid --repeats S`` trains each over S seeds (what
    ``python -m search.baselines`` runs)."""

    names: tuple[str, ...] = tuple(DESIGNS)

    def __call__(self, trial, budget: Budget) -> NetSpec:
        return DESIGNS[trial.suggest_categorical("design", self.names)].spec(budget)

    def grid(self) -> dict[str, list]:
        return {"design": list(self.names)}

    def configurations(self, budget: Budget) -> int:
        return len(self.names)


def design_values(space, budget: Budget) -> dict[str, set]:
    """Per sampled dimension of ``space`` (a ReplayableSpace), the values the hand designs fitted
    to ``budget`` take in it: what a refinement of the space keeps, so that every design stays a
    point of it (designs the budget cannot fit take none)."""
    values: dict[str, set] = {}
    for design in DESIGNS.values():
        try:
            params = space.params_of(design.spec(budget))
        except BudgetError:
            continue
        for name, value in params.items():
            values.setdefault(name, set()).add(value)
    return values
