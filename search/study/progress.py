"""A one-line live display of a study: trials done / running / pruned / failed, best accuracy,
elapsed time. Rewritten in place on a terminal; a line per finished trial otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import pandas as pd

from search.results.schema import FINISHED
from search.study.budget import EpochBudget


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, budget: EpochBudget | None = None) -> None:
        self.total, self._stream, self.budget = total, stream, budget
        self.start = time.monotonic()
        self.counts = dict.fromkeys(FINISHED, 0)
        self.running, self.best = 0, None
        self.last_shown = 0.0

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr  # looked up late: Ray pickles its callbacks

    @property
    def tty(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def line(self) -> str:
        minutes, seconds = divmod(int(time.monotonic() - self.start), 60)
        done = sum(self.counts.values())
        best = "-" if self.best is None else f"{self.best:.4f}"
        return (
            f"[{minutes:02d}:{seconds:02d}] trials {done}/{self.total} done "
            f"({self.counts['COMPLETE']} complete, {self.counts['PRUNED']} pruned, {self.counts['FAIL']} failed), "
            f"{self.running} running, best accuracy {best}"
        ) + (f"; {self.budget.describe()} spent" if self.budget is not None and self.budget.total else "")

    def show(self, final: bool = False) -> None:
        self.last_shown = time.monotonic()
        if self.tty:
            self.stream.write("\r\033[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def started(self) -> None:
        self.running += 1
        if self.tty:
            self.show()

    def result(self, accuracy: float | None) -> None:
        first = self.best is None and accuracy is not None  # the first result: shown at once, also off a terminal
        if accuracy is not None and (self.best is None or accuracy > self.best):
            self.best = accuracy
        if first or self.tty or time.monotonic() - self.last_shown > 30:  # long trials: a line every 30 s
            self.show()

    def finished(self, table: pd.DataFrame) -> None:
        """Counts re-read from the results table, just rewritten from the source of truth."""
        self.refresh(table)
        self.show()

    def refresh(self, table: pd.DataFrame) -> None:
        states = table["state"].value_counts()
        for state in self.counts:
            self.counts[state] = int(states.get(state, 0))
        self.running = int(states.get("RUNNING", 0))
        values = table.loc[table["state"].isin(["COMPLETE", "PRUNED"]), "accuracy"].dropna()
        if len(values):
            self.best = max([float(values.max())] + ([self.best] if self.best is not None else []))
