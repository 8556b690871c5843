"""A study's epoch budget (``--budget-epochs``): what its trials have spent, what the running
ones will surely spend (each runs at least to its next rung), and whether a new trial fits."""

from __future__ import annotations

from enum import Enum

from search.config.schedule import ScheduleConfig


class Decision(Enum):
    PROPOSE = "propose"  # a new trial fits in what is left
    WAIT = "wait"  # not now: a running trial stopped early may leave room
    DONE = "done"  # nothing runs and no trial fits: the budget is spent


class EpochBudget:
    """Trial-epochs across all trials and rungs, counted from every epoch reported. ``total`` 0:
    no budget (every trial is proposed)."""

    def __init__(self, total: int, epochs: int, schedule: ScheduleConfig, spent: int = 0) -> None:
        self.total, self._epochs, self._schedule = total, epochs, schedule
        self._closed, self._open = spent, {}  # epochs of finished trials; number -> epochs run so far

    @property
    def spent(self) -> int:
        return self._closed + sum(self._open.values())

    def _committed(self) -> int:
        return sum(self._schedule.next_rung(self._epochs, done) - done for done in self._open.values())

    def opened(self, number: int, done: int = 0) -> None:
        """Trial ``number`` runs, having run ``done`` epochs already (a resumed one)."""
        self._open[number] = done
        self._closed -= done  # counted among the finished epochs until it reports again

    def ran(self, number: int, epochs: int) -> None:
        if number in self._open:
            self._open[number] = max(self._open[number], epochs)

    def closed(self, number: int) -> None:
        self._closed += self._open.pop(number, 0)

    def decide(self) -> Decision:
        if not self.total:
            return Decision.PROPOSE
        first = self._schedule.next_rung(self._epochs, 0)
        if self.total - self.spent - self._committed() >= first:
            return Decision.PROPOSE
        return Decision.WAIT if self._open else Decision.DONE

    def describe(self) -> str:
        return f"epochs {self.spent}/{self.total}" if self.total else ""


def bought(table, epochs: int) -> str:
    """What a study's compute bought, from its trials table: trials, trial-epochs, and how many
    ran all ``epochs`` against how many the scheduler stopped, by where."""
    ran = table[table["state"].isin(["COMPLETE", "PRUNED"])]
    stopped = ran[ran["epochs"] < epochs]["epochs"].value_counts().sort_index()
    where = ", ".join(f"{n} after {int(e)}" for e, n in stopped.items())
    return (f"the budget bought {len(ran)} trials for {int(ran['epochs'].sum())} trial-epochs: "
            f"{len(ran) - int(stopped.sum())} trained all {epochs} epochs"
            + (f", {int(stopped.sum())} stopped early ({where})" if len(stopped) else ""))
