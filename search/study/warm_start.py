"""What a new study runs first: ``--start-from`` hand designs, then ``--warm-start`` studies.

``--warm-start STUDY ...``: a new study starts from the best trials of earlier ones.

From each earlier study of the same space, its best complete trials (single objective: the
``TOP`` most accurate; several objectives: the accuracy-MACs Pareto front) are queued first,
their sampled parameters replayed by the space, which fits them to the new study's budget as it
fits any sample (so another dataset or budget is fine). Each such trial keeps where it came from
in its ``warm_start`` column. A study of another space is refused: a space can only replay the
parameters it sampled itself.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

import spaces
from blocks import NetSpec
from spaces import designs

from search.results import tables as results
from search.results.analysis import best, pareto, sampled_parameters
from search.config.study import LEARNING_SAMPLERS, START_FROM_AUTO, START_FROM_NONE, StudyConfig
from search.core.errors import StudyError
from search.training.plan import QueuedTrial

TOP = 3  # earlier trials taken from a single-objective study


def design_queue(config: StudyConfig, space: spaces.Space, budget: spaces.Budget) -> tuple[QueuedTrial, ...]:
    """``--start-from``: the hand designs, fitted to ``budget``, as points of ``space`` (its
    parameters for each), marked in the ``design`` column. ``auto`` (the default) takes every
    design that fits, only where they can help and leave room to search: a sampler that learns
    from results, a space that can state them, and at most half the trials the study expects
    (``--trials``, or what ``--budget-epochs`` buys). They are then TPE's start-up trials: it
    models from them at once."""
    if config.start_from in START_FROM_NONE:
        return ()
    auto = config.start_from == START_FROM_AUTO
    if not isinstance(space, spaces.ReplayableSpace):
        if auto:
            return ()
        raise StudyError(f"--start-from: space {config.space!r} cannot state a network as its parameters; "
                         "search resnext (or resnext_v3), whose points include every hand design")
    if not auto:
        return tuple(_queued(space, d, d.spec(budget)) for d in designs.get(config.start_from))
    if config.sampler not in LEARNING_SAMPLERS:
        return ()
    queue = [q for q in (_stated(space, d, budget) for d in designs.get("hand")) if q is not None]
    return tuple(queue) if 2 * len(queue) * config.repeats <= config.expected_trials else ()


def _stated(space: spaces.ReplayableSpace, design: designs.Design, budget: spaces.Budget) -> QueuedTrial | None:
    """``design`` fitted to ``budget`` as a point of ``space``; None when the budget cannot fit
    it or the space (a refined one) does not hold it."""
    try:
        return _queued(space, design, design.spec(budget))
    except (spaces.BudgetError, ValueError):
        return None


def _queued(space: spaces.ReplayableSpace, design: designs.Design, spec: NetSpec) -> QueuedTrial:
    return QueuedTrial(space.params_of(spec), {"design": design.name})


def first_trials(config: StudyConfig, space: spaces.Space, budget: spaces.Budget) -> tuple[QueuedTrial, ...]:
    """What a new study queues: the hand designs, then the ``--warm-start`` trials that are not
    one of them again (an earlier default study's best is often a design it queued)."""
    designs_first = design_queue(config, space, budget)
    seen = [q.params for q in designs_first]
    return designs_first + tuple(q for q in warm_queue(config) if q.params not in seen)


def warm_queue(config: StudyConfig) -> tuple[QueuedTrial, ...]:
    """The trials to queue first, for every study in ``config.warm_start`` (none without)."""
    return tuple(q for study in config.warm_start for q in _from_study(study, config))


def _from_study(study: str, config: StudyConfig) -> list[QueuedTrial]:
    folder = results.study_path(study, config.results_dir)
    df = results.load(folder)
    spaces_there = set(df["space"].dropna())
    if spaces_there and spaces_there != {config.space}:
        raise ValueError(f"--warm-start {study}: it searched {', '.join(sorted(spaces_there))}, this study searches "
                         f"{config.space}; a space can only replay parameters it sampled itself")
    done = df[df["state"] == "COMPLETE"]
    if done.empty:
        raise ValueError(f"--warm-start {study}: it has no complete trial to start from")
    chosen = pareto(done, ("accuracy", "macs")) if len(config.objectives) > 1 else best(done, TOP)
    params = sampled_parameters(df)
    return [QueuedTrial(_plain(row, params), {"warm_start": f"{folder.name}:{int(row['trial'])}"})
            for _, row in chosen.iterrows()]


def _plain(row: pd.Series, names: list[str]) -> dict[str, Any]:
    """The parameters a trial sampled, as plain Python values (a stage it lacks is empty)."""
    out = {}
    for name in names:
        value = row[name]
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        out[name] = value.item() if hasattr(value, "item") else value
    return out
