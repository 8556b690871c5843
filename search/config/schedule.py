"""ScheduleConfig: how Ray Tune's scheduler spends a study's epochs (``ray_tuner.make_scheduler``
builds the scheduler from it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from search.config.setting import setting
from search.core.errors import require_int

SCHEDULERS = ("asha", "fifo")
STOPPED_AS = ("pruned", "complete")  # how a scheduler-stopped trial is told to Optuna


@dataclass(frozen=True)
class ScheduleConfig:
    scheduler: str = setting("asha", "Ray Tune scheduler (fifo with --sampler grid)", choices=SCHEDULERS)
    stopped_as: str = setting("pruned", "how a trial the scheduler stops early is told to Optuna: pruned, or "
                              "complete (Ray's stock OptunaSearch)", choices=STOPPED_AS)
    grace_period: int = setting(0, "ASHA: epochs before a trial can first be stopped (0: a third of --epochs)")
    reduction_factor: float = setting(3.0, "ASHA: each rung lets on the best 1/this of the trials it saw")
    brackets: int = setting(1, "ASHA: successive-halving brackets, > 1 for asynchronous Hyperband")

    def check(self, epochs: int, objectives: int) -> None:
        """ValueError when the schedule cannot run ``epochs`` with this many objectives."""
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.scheduler!r}: choose from {', '.join(SCHEDULERS)}")
        if self.stopped_as not in STOPPED_AS:
            raise ValueError(f"--stopped-as must be one of {', '.join(STOPPED_AS)}, got {self.stopped_as!r}")
        require_int("--grace-period", self.grace_period, 0)
        require_int("--brackets", self.brackets, 1)
        if self.grace_period > epochs:
            raise ValueError(f"--grace-period {self.grace_period} is beyond the epoch budget ({epochs})")
        if isinstance(self.reduction_factor, bool) or not isinstance(self.reduction_factor, (int, float)) \
                or not self.reduction_factor > 1:
            raise ValueError(f"--reduction-factor must be a number > 1, got {self.reduction_factor!r}")
        if self.brackets > 1 and objectives > 1:
            raise ValueError("--brackets > 1 is for one objective: a Pareto study's ASHA ranks one bracket")

    def first_rung(self, epochs: int) -> int:
        """ASHA's grace period in epochs: as set, else a third of the budget (at least 1). A
        third, not Ray's 1: on the replay benchmark (bench/search_replay.py) the first epoch
        ranks networks poorly against their final accuracy."""
        return self.grace_period or max(1, epochs // 3)

    def rungs(self, epochs: int) -> tuple[int, ...]:
        """The epochs at which the scheduler may stop a trial, then ``epochs`` (FIFO: ``epochs``
        alone); ASHA's rungs are the first one times the reduction factor's powers."""
        if self.scheduler != "asha":
            return (epochs,)
        rungs, rung = [], self.first_rung(epochs)
        while rung < epochs:
            rungs.append(rung)
            rung = int(math.ceil(rung * self.reduction_factor))
        return (*rungs, epochs)

    def next_rung(self, epochs: int, done: int) -> int:
        """The first rung past ``done`` epochs: a trial surely runs until it."""
        return next(r for r in self.rungs(epochs) if r > done) if done < epochs else epochs

    def epochs_per_trial(self, epochs: int) -> float:
        """The epochs one trial costs on average when each rung lets on 1/reduction_factor of
        the trials (FIFO: all of ``epochs``): how a study's epoch budget becomes trials."""
        rungs, cost, survive, before = self.rungs(epochs), 0.0, 1.0, 0
        for rung in rungs:
            cost, before = cost + survive * (rung - before), rung
            survive /= self.reduction_factor
        return cost
