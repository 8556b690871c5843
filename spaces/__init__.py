"""Search spaces: pure define-by-run functions ``space(trial, budget) -> NetSpec``.

A space calls only ``trial.suggest_*`` and returns a spec that fits the budget; it builds no
modules, does no I/O and has no randomness of its own, so ``space(FixedTrial(params), budget)``
replays a stored trial exactly. ``Space`` and its optional capabilities (``GridSpace``,
``CountableSpace``) are declared in ``protocol.py``; ``summary.py`` summarises a space.
"""

from __future__ import annotations

import importlib

import optuna

from blocks import NetSpec

from .anynet import ANYNETX, AnyNetSpace
from . import refined
from .budget import Budget, BudgetError
from .designs import DesignSpace
from .protocol import CountableSpace, GridSpace, ReplayableSpace, Space
from .resnet import ResNetSpace
from .resnext import ResNeXtSpace
from .resnext_v2 import ResNeXtV2Space
from .resnext_v3 import ResNeXtV3Space
from .resnext_v4 import resnext_v4
from .templates import ResNeXtTemplates

SPACES: dict[str, Space] = {
    "resnet": ResNetSpace(), "resnext_v1": ResNeXtSpace(), "resnext_v2": ResNeXtV2Space(), "resnext_v3": ResNeXtV3Space(),
    "resnext_v4": resnext_v4(), "resnext_templates": ResNeXtTemplates(), "hand_designs": DesignSpace(), **ANYNETX,
}
# Names that follow the current version: a new study records the version itself, so it resumes
# with the space it was made with after the name moves on.
ALIASES = {"resnext": "resnext_v4"}
# What a moved name meant in the studies written before it moved (their study.json and tables).
STORED = {"resnext": "resnext_v1"}


def canonical(name: str) -> str:
    """The versioned name a new study records for ``name`` (``resnext`` -> today's version)."""
    return ALIASES.get(name, name) if isinstance(name, str) else name


def as_stored(name: str) -> str:
    """The versioned name of a space as an older study recorded it (``resnext`` -> ``resnext_v1``)."""
    return STORED.get(name, name) if isinstance(name, str) else name


def names() -> list[str]:
    """Every name ``get`` knows, aliases first."""
    return [*ALIASES, *SPACES]


def get(name: str) -> Space:
    """A built-in space by name, or a user's space given as ``package.module:function``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"space must be a name, got {name!r}; choose from {', '.join(names())} or package.module:function")
    if canonical(name) in SPACES:
        return SPACES[canonical(name)]
    if name.startswith(refined.PREFIX):
        return refined.load(name[len(refined.PREFIX):], SPACES, STORED)
    if ":" not in name:
        raise ValueError(f"unknown space {name!r}: choose from {', '.join(names())} or give package.module:function")
    module_name, _, attr = name.partition(":")
    if not module_name.strip() or not attr.strip():
        raise ValueError(f"space {name!r}: give both parts of package.module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # a relative name (TypeError), a syntax error, or whatever the module's top level raises
        raise ValueError(f"space {name!r}: cannot import module {module_name!r} ({_one_line(err)})") from None
    space = getattr(module, attr, None)
    if not isinstance(space, Space):
        raise ValueError(f"space {name!r}: module {module_name!r} has no callable {attr!r}")
    return space


def grid_of(space: Space, name: str) -> dict[str, list]:
    """The choices a space declares for a grid search (``space.grid()``); ValueError if none."""
    if not isinstance(space, GridSpace):
        with_grid = [n for n, s in SPACES.items() if isinstance(s, GridSpace)]
        raise ValueError(f"--sampler grid: space {name!r} declares no grid of choices; these do: {', '.join(with_grid)}")
    return space.grid()


def _one_line(err: Exception) -> str:
    """``Type: message`` on one line and short: user code's errors can span many lines."""
    return " ".join(f"{type(err).__name__}: {err}".split())[:300]


def _check_spec(spec: object, budget: Budget) -> None:
    """A network for the data at hand: a NetSpec with the data's channels and classes."""
    if not isinstance(spec, NetSpec):
        raise ValueError(f"the space returned {type(spec).__name__}, not a NetSpec")
    if (spec.in_channels, spec.num_classes) != (budget.in_channels, budget.num_classes):
        raise ValueError(f"the space built a network for {spec.in_channels} channel(s) and {spec.num_classes} classes, "
                         f"but the data has {budget.in_channels} and {budget.num_classes}: build it with "
                         "in_channels=budget.in_channels, num_classes=budget.num_classes")


def check_budget(space: Space, budget: Budget, samples: int = 64, seed: int = 0) -> None:
    """Raise BudgetError before any trial starts unless every one of ``samples`` random draws
    fits the budget (a draw the space cannot fit would fail inside the study)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    failed = 0
    for _ in range(samples):
        trial = study.ask()
        try:
            spec = space(trial, budget)
        except BudgetError:
            failed += 1
            continue
        except Exception as err:  # a user space's own bug: its message, in one line
            raise ValueError(f"the space raised {_one_line(err)}") from None
        _check_spec(spec, budget)
    if failed == samples:
        raise BudgetError(f"no network of the space fits the budget ({budget.describe()}): widen the MACs/params bounds")
    if failed:
        raise BudgetError(
            f"{failed} of {samples} random networks of the space cannot be fitted to the budget "
            f"({budget.describe()}): widen the window between the min and max bounds"
        )


__all__ = ["ALIASES", "SPACES", "STORED", "as_stored", "canonical", "names", "AnyNetSpace", "Budget", "BudgetError", "CountableSpace", "DesignSpace", "GridSpace", "ReplayableSpace", "ResNeXtSpace", "ResNeXtTemplates",
           "ResNeXtV2Space", "ResNetSpace", "Space", "check_budget", "get", "grid_of"]
