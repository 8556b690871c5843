"""A refined space: a built-in space whose sampled dimensions are narrowed by data (a JSON file,
as ``python -m search.refine`` writes it), searched as ``--space refined:PATH``:

    {"base": "resnext_v3", "ranges": {"stages": {"low": 2, "high": 3},
                                      "block_1": {"choices": ["bottleneck"]}}}

A number's range clips the base space's own range; a choice's keeps the base's choices that it
lists (or that lie within ``low``..``high``). Everything else, the budget's repairs included, is
the base space's, so a refined study's trials have the base's columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from blocks import NetSpec

from .budget import Budget

PREFIX = "refined:"
PROBES = 256  # random samples that find the base space's dimensions (per-stage ones included)


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None

    def keeps(self, value: Any) -> bool:
        if self.choices is not None:
            return value in self.choices
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


class _Narrowed:
    """An Optuna trial whose suggestions keep within the refined ranges."""

    def __init__(self, trial: optuna.Trial, ranges: dict[str, Range]) -> None:
        self._trial, self._ranges = trial, ranges

    def __getattr__(self, name: str) -> Any:  # number, params, user_attrs, ...: the trial's own
        return getattr(self._trial, name)

    def suggest_int(self, name: str, low: int, high: int, **kwargs: Any) -> int:
        return self._trial.suggest_int(name, *self._clip(name, low, high), **kwargs)

    def suggest_float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        return self._trial.suggest_float(name, *self._clip(name, low, high), **kwargs)

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        kept = [c for c in choices if name not in self._ranges or self._ranges[name].keeps(c)]
        return self._trial.suggest_categorical(name, kept or list(choices))

    def _clip(self, name: str, low: Any, high: Any) -> tuple[Any, Any]:
        r = self._ranges.get(name)
        if r is None or r.choices is not None:
            return low, high
        new_low, new_high = max(low, r.low if r.low is not None else low), min(high, r.high if r.high is not None else high)
        return (new_low, new_high) if new_low <= new_high else (low, high)  # disjoint: the base's own range


@dataclass(frozen=True)
class RefinedSpace:
    base: Any  # the base Space
    ranges: dict[str, Range]

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        return self.base(_Narrowed(trial, self.ranges), budget)

    def configurations(self, budget: Budget) -> float:
        """The base's count: an upper bound (the ranges narrow it)."""
        return self.base.configurations(budget)


@dataclass(frozen=True)
class ReplayableRefinedSpace(RefinedSpace):
    """A refined space whose base can state a network as its parameters (``--start-from``)."""

    def params_of(self, spec: NetSpec) -> dict[str, Any]:
        params = self.base.params_of(spec)
        outside = [name for name, value in params.items() if name in self.ranges and not self.ranges[name].keeps(value)]
        if outside:
            raise ValueError(f"the network has {outside[0]}={params[outside[0]]!r}, outside the refined space")
        return params


def refine(base: Any, ranges: dict[str, Range]) -> RefinedSpace:
    """``base`` narrowed to ``ranges``, replayable when the base is."""
    return (ReplayableRefinedSpace if hasattr(base, "params_of") else RefinedSpace)(base, ranges)


def load(path: str, spaces: dict[str, Any], aliases: dict[str, str] | None = None) -> RefinedSpace:
    """The refined space in ``path``; ValueError (one line) for a file that is missing, not
    JSON, of another shape, or that names a base or a dimension the base lacks."""
    where = f"--space {PREFIX}{path}"
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise ValueError(f"{where}: cannot read it ({err.strerror})") from None
    except ValueError as err:
        raise ValueError(f"{where}: not JSON ({' '.join(str(err).split())})") from None
    return load_data(data, spaces, path, aliases)


def load_data(data: Any, spaces: dict[str, Any], path: str, aliases: dict[str, str] | None = None) -> RefinedSpace:
    """``load`` of data already read (``path`` names it in messages); ``aliases`` maps a base's
    name as an older file wrote it to its version (``resnext``, written before the default moved
    on, is ``resnext_v1``)."""
    aliases = aliases or {}
    where = f"--space {PREFIX}{path}"
    base = data.get("base") if isinstance(data, dict) else None
    base = aliases.get(base, base) if isinstance(base, str) else None
    if not isinstance(data.get("ranges") if isinstance(data, dict) else None, dict) or base not in spaces:
        raise ValueError(f"{where}: expected {{\"base\": one of {', '.join(spaces)}, \"ranges\": {{dimension: "
                         "{\"low\", \"high\"} or {\"choices\": [...]}}}}")
    base = spaces[base]
    known = dimensions(base)
    unknown = sorted(set(data["ranges"]) - known)
    if unknown:
        raise ValueError(f"{where}: {data['base']} has no dimension {unknown[0]!r} (it has {', '.join(sorted(known))})")
    return refine(base, {name: _range(where, name, spec) for name, spec in data["ranges"].items()})


def _range(where: str, name: str, spec: Any) -> Range:
    if isinstance(spec, dict) and set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]:
        return Range(choices=tuple(spec["choices"]))
    numbers = isinstance(spec, dict) and spec and set(spec) <= {"low", "high"} and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec.values())
    if not numbers or spec.get("low", float("-inf")) > spec.get("high", float("inf")):
        raise ValueError(f"{where}: dimension {name!r} needs {{\"low\": x, \"high\": y}} (low <= high) or "
                         "{\"choices\": [...]}")
    return Range(low=spec.get("low"), high=spec.get("high"))


def dimensions(space: Any, budget: Budget = Budget(image_size=224, max_macs=None)) -> set[str]:
    """The names a space samples, found by sampling it at random (at a size every stage fits)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names: set[str] = set()
    for _ in range(PROBES):
        trial = study.ask()
        try:
            space(trial, budget)
        except ValueError:
            pass  # a sample the budget refuses still named its dimensions
        names |= set(trial.params)
    return names
