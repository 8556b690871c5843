"""Replayed studies: the study's own sampler and scheduler, run against a recorded pool.

Each proposal of the real sampler (through ``optuna_study.StudyProposer``, exactly as in a
study) gets the recorded curve of its nearest pool entry (``search.pool``); the real scheduler
(``ray_tuner.ReplayedScheduler``) decides after each epoch. Trials run ``max_concurrent`` at a
time on a simulated clock: each epoch takes the seconds recorded for it, so asynchronous
schedulers see results in the order a real study would. A replay takes a second or so where the
real study takes an hour, so arms can be compared over many seeds (``bench/search_replay.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import spaces
from blocks import complexity

from search.config.resources import Placement
from search.config.study import StudyConfig
from search.training.plan import TrialPlan
from search.study.pool import Pool, PoolEntry
from search.study.resources import CPU_CONCURRENCY
from search.study.warm_start import design_queue


@dataclass
class _Running:
    plan: TrialPlan
    entry: PoolEntry
    epochs: int  # epochs run so far
    due: float  # simulated time at which its next epoch ends


def result(entry: PoolEntry, epochs: int) -> dict[str, Any]:
    """The report a trial on ``entry`` makes after ``epochs``: what ``trial.run_trial`` reports,
    less the timing and speed columns."""
    out = {"epochs": epochs, "accuracy": entry.accuracy(epochs), "val_accuracy": entry.curve[epochs - 1]}
    if epochs == len(entry.curve):
        out["test_accuracy"] = entry.test_accuracy
    return out


def replay(config: StudyConfig, pool: Pool, trial_epochs: int, channels: int = 3, classes: int = 10) -> pd.DataFrame:
    """Run the study ``config`` describes against ``pool`` until its trials have spent
    ``trial_epochs`` epochs in all; one row per finished trial, in the order they finished:
    trial, state, the pool entry it replayed (entry_study, entry), epochs, accuracy (best
    validation so far), test_accuracy, macs and params (of the proposed spec), spent
    (trial-epochs spent by the study when it finished) and clock (simulated seconds)."""
    from search.study import optuna_study
    from search.study import ray_tuner

    if config.epochs != pool.epochs:
        raise ValueError(f"the pool was recorded with {pool.epochs} epochs; the study asks for {config.epochs}")
    np.random.seed(config.seed)  # Ray's Hyperband brackets draw from numpy's global generator
    space, budget = spaces.get(config.space), config.budget(pool.image_size, channels, classes)
    queue = design_queue(config, space, budget)  # as a real study queues them (--start-from)
    study, _ = optuna_study.open_study(config, None, resume=False, queue=queue)  # in memory
    placement = Placement(config.resources.cpus_per_trial, 0.0, config.resources.max_concurrent or CPU_CONCURRENCY)
    proposer = optuna_study.StudyProposer(study, space, budget, config, placement)
    scheduler = ray_tuner.ReplayedScheduler(config, pool.image_size)
    running: dict[int, _Running] = {}
    clock, spent, rows = 0.0, 0, []
    while spent < trial_epochs:
        while len(running) < placement.max_concurrent:
            plan = proposer.ask()
            entry = pool.nearest(plan.spec)
            scheduler.add(plan)
            running[plan.number] = _Running(plan, entry, 0, clock + entry.seconds[0])
        number = min(running, key=lambda n: (running[n].due, n))
        trial = running[number]
        clock, spent, trial.epochs = trial.due, spent + 1, trial.epochs + 1
        report = result(trial.entry, trial.epochs)
        proposer.report(number, report)
        goes_on = scheduler.continues(number, report)
        if goes_on and trial.epochs < pool.epochs:
            trial.due = clock + trial.entry.seconds[trial.epochs]
            continue
        del running[number]
        scheduler.complete(number, report)
        proposer.tell(number, report)
        rows.append(_row(trial, report, spent, clock, pool))
    return pd.DataFrame(rows)


def _row(trial: _Running, report: dict[str, Any], spent: int, clock: float, pool: Pool) -> dict[str, Any]:
    cost = complexity(trial.plan.spec, pool.image_size)
    return {"trial": trial.plan.number, "state": "COMPLETE" if trial.epochs == pool.epochs else "PRUNED",
            "entry": trial.entry.trial, "entry_study": trial.entry.study, "epochs": trial.epochs,
            "accuracy": report["accuracy"], "test_accuracy": report.get("test_accuracy", np.nan),
            "macs": cost.macs, "params": cost.params,
            "spent": spent, "clock": clock}


def best_at(trials: pd.DataFrame, spent: int) -> float:
    """The best accuracy among complete trials finished by ``spent`` trial-epochs (nan: none)."""
    done = trials[(trials["state"] == "COMPLETE") & (trials["spent"] <= spent)]
    return float(done["accuracy"].max()) if len(done) else float("nan")


def spent_to_reach(trials: pd.DataFrame, accuracy: float) -> float:
    """Trial-epochs spent when a complete trial first reached ``accuracy`` (inf: never)."""
    hits = trials[(trials["state"] == "COMPLETE") & (trials["accuracy"] >= accuracy)]
    return float(hits["spent"].min()) if len(hits) else float("inf")
