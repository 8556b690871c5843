"""What a search space is, and the optional capabilities it may declare.

A space is any callable ``space(trial, budget) -> NetSpec``: a plain function is one. A space
that also defines ``grid()`` or ``configurations(budget)`` offers that capability; the callers
ask with ``isinstance(space, GridSpace)`` or ``isinstance(space, CountableSpace)``, so the
method names live here, once, and a type checker sees them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import optuna

from blocks import NetSpec

from .budget import Budget


@runtime_checkable
class Space(Protocol):
    """A define-by-run space: only ``trial.suggest_*`` calls, and a spec that fits ``budget``."""

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec: ...


@runtime_checkable
class GridSpace(Space, Protocol):
    """A space with a finite set of choices, so ``--sampler grid`` can try every one."""

    def grid(self) -> dict[str, list]:
        """Each parameter name and its choices, for Optuna's GridSampler."""
        ...


@runtime_checkable
class CountableSpace(Space, Protocol):
    """A space that can say how many parameter settings it holds (``python -m search.describe``)."""

    def configurations(self, budget: Budget) -> float:
        """The number of distinct parameter settings before budget repairs (may be huge)."""
        ...


@runtime_checkable
class ReplayableSpace(Space, Protocol):
    """A space that can state a given network as its own parameters, so that a known network
    (a hand design: ``--start-from``) runs as a point of the space the sampler learns from."""

    def params_of(self, spec: NetSpec) -> dict:
        """The sampled values with which the space rebuilds ``spec`` exactly."""
        ...
