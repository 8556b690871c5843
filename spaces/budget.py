"""Budget (image, classes, complexity bounds) and the deterministic repairs that fit a sample in it.

A space samples freely from fixed distributions, then ``fit`` scales the sampled widths (and, if
that is not enough, depths) along a fixed ladder until the analytic complexity lies within the
bounds. The repair is a pure function of the sampled values, so replaying a trial's parameters
rebuilds the same spec, and no trial is spent on a network outside the budget.
"""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass
from typing import Callable

from blocks import NetSpec, complexity

WIDTH_QUANTUM = 8
MAX_STAGES = 4


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"Budget.{name} must be an int >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class Budget:
    """What a sampled network must fit: the data's image size, channels and classes, and bounds
    on MACs and params (None = unbounded)."""

    image_size: int = 32
    in_channels: int = 3
    num_classes: int = 10
    min_macs: int = 0
    max_macs: int | None = None
    min_params: int = 0
    max_params: int | None = None

    def __post_init__(self) -> None:
        _check_int("image_size", self.image_size, 2)
        _check_int("in_channels", self.in_channels, 1)
        _check_int("num_classes", self.num_classes, 2)
        for low, high in (("min_macs", "max_macs"), ("min_params", "max_params")):
            _check_int(low, getattr(self, low), 0)
            if getattr(self, high) is not None:
                _check_int(high, getattr(self, high), 1)
                if getattr(self, high) < getattr(self, low):
                    raise ValueError(f"Budget.{high} is below Budget.{low}: raise {high} or lower {low}")

    @classmethod
    def from_millions(
        cls, image_size: int, in_channels: int, num_classes: int, min_mmacs: float = 0.0,
        max_mmacs: float | None = None, min_mparams: float = 0.0, max_mparams: float | None = None,
    ) -> Budget:
        """A budget whose bounds are given in millions (as on the command lines)."""

        def units(value: float | None) -> int | None:
            if value is None:
                return None
            if not 0 <= value < math.inf:
                raise ValueError(f"complexity bounds must be finite and >= 0 millions, got {value}")
            return int(round(value * 1e6))

        return cls(image_size, in_channels, num_classes, units(min_mmacs), units(max_mmacs),
                   units(min_mparams), units(max_mparams))

    @property
    def stem(self) -> str:
        """The 7x7/2 + pool stem for ImageNet-sized images, the 3x3 stem for small ones."""
        return "imagenet" if self.image_size >= 128 else "small"

    @property
    def max_stages(self) -> int:
        """Stages whose input is at least 2x2 when every stage after the first halves the size."""
        size = self.image_size // 4 if self.stem == "imagenet" else self.image_size
        return max(1, min(MAX_STAGES, int(math.log2(size))))

    def strides(self, stages: int) -> tuple[int, ...]:
        return (1,) + (2,) * (stages - 1)

    def violation(self, spec: NetSpec) -> str | None:
        """'over' if a max bound is exceeded, else 'under' if a min bound is missed, else None."""
        cx = complexity(spec, self.image_size)
        if (self.max_macs is not None and cx.macs > self.max_macs) or (
            self.max_params is not None and cx.params > self.max_params
        ):
            return "over"
        return "under" if cx.macs < self.min_macs or cx.params < self.min_params else None

    def fits(self, spec: NetSpec) -> bool:
        return self.violation(spec) is None

    def describe(self) -> str:
        def bound(low: int, high: int | None, unit: str) -> str:
            return f"{low / 1e6:g}..{'inf' if high is None else f'{high / 1e6:g}'} M{unit}"

        return (
            f"{self.image_size}px x{self.in_channels}, MACs {bound(self.min_macs, self.max_macs, 'MACs')}, "
            f"params {bound(self.min_params, self.max_params, 'params')}"
        )


class BudgetError(ValueError):
    """No network of the space (or of one sample) fits the budget."""


def quantize(value: float, quantum: int = WIDTH_QUANTUM) -> int:
    """Nearest positive multiple of ``quantum``."""
    return max(quantum, int(round(value / quantum)) * quantum)


# (width scale, depth scale) steps: widths first, in 2^(1/8) steps up to 16x or down to 1/128x
# (where every width reaches the 8-channel floor), then depths down to 1.
_DOWN = [(2 ** (-k / 8), 1.0) for k in range(1, 57)] + [(2**-7, 2 ** (-k / 4)) for k in range(1, 17)]
_UP = [(2 ** (k / 8), 1.0) for k in range(1, 33)]

Draft = Callable[[float, float, int], NetSpec]
RELAX_LEVELS = 7


def fit(draft: Draft, budget: Budget, relax_levels: int = RELAX_LEVELS) -> NetSpec:
    """The spec ``draft(width_scale, depth_scale, relax)`` that fits, nearest to (1, 1, 0).

    ``relax`` k asks the space to coarsen its grouping k halvings (cardinality or group width),
    tried only when no step of the ladder fits: large cardinalities make widths move in big
    jumps that can step over a narrow min..max window. A space without grouping passes
    ``relax_levels=1``: its drafts ignore ``relax``, so further levels would repeat the ladder."""
    for relax in range(relax_levels):
        spec = _fit_ladder(lambda w, d: draft(w, d, relax), budget)
        if spec is not None:
            return spec
    raise BudgetError(f"no scaling of this sample fits the budget ({budget.describe()})")


def _fit_ladder(draft: Callable[[float, float], NetSpec], budget: Budget) -> NetSpec | None:
    """Complexity grows with both scales, so a bisection finds the first step past the violated
    bound; a short scan from there handles a narrow min..max window."""
    spec = draft(1.0, 1.0)
    violated = budget.violation(spec)
    if violated is None:
        return spec
    ladder = _DOWN if violated == "over" else _UP
    lo, hi, crossed = 0, len(ladder), None
    while lo < hi:
        mid = (lo + hi) // 2
        spec = draft(*ladder[mid])
        violation = budget.violation(spec)
        if violation != violated:
            hi, crossed = mid, (spec, violation)
        else:
            lo = mid + 1
    if crossed is None:  # even the ladder's last step violates the same bound
        return None
    spec, violation = crossed  # the step at lo, already drafted and counted: no second count
    if violation is None:
        return spec
    for step in ladder[lo + 1:]:
        candidate = draft(*step)
        if candidate != spec and budget.fits(candidate):  # an equal draft fails as ``spec`` did
            return candidate
        spec = candidate
    return None


def scale_depth(depth: int, scale: float) -> int:
    return max(1, int(round(depth * scale)))


def _ratio_terms(ratio: float) -> tuple[int, int]:
    """(numerator, denominator) of the fraction nearest ``ratio`` with a denominator <= 64."""
    numerator, denominator = ratio.as_integer_ratio()
    if denominator <= 64:  # exact already, as limit_denominator would return it; skips two Fractions
        return numerator, denominator
    frac = Fraction(ratio).limit_denominator(64)
    return frac.numerator, frac.denominator


def _align_inner(width: int, ratio: float, step_of: int) -> tuple[int, int]:
    """(width, inner): inner = round(width * ratio) moved to the nearest multiple of
    lcm(step_of, ratio's numerator), width = inner / ratio exactly."""
    numerator, denominator = _ratio_terms(ratio)
    step = math.lcm(step_of, numerator)
    inner = max(step, int(round(width * ratio / step)) * step)
    return inner * denominator // numerator, inner


def compatible_cardinality(width: int, ratio: float, cardinality: int) -> tuple[int, int]:
    """(width, cardinality) repaired, as pycls's adjust_block_compatibility does, so that the
    bottleneck width round(width * ratio) divides by the cardinality: the cardinality is capped at
    the bottleneck width, then the bottleneck width moves to the nearest multiple of it."""
    cardinality = min(cardinality, max(1, int(round(width * ratio))))
    width, _ = _align_inner(width, ratio, cardinality)
    return width, cardinality


def compatible_group_width(width: int, ratio: float, group_width: int) -> tuple[int, int]:
    """(width, cardinality) for a group width: capped at the bottleneck width, which then moves
    to the nearest multiple of it."""
    group_width = min(group_width, max(1, int(round(width * ratio))))
    width, inner = _align_inner(width, ratio, group_width)
    return width, inner // group_width
