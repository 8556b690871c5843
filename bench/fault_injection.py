"""Fault injection: kill -9 a study's driver at random moments, corrupt a checkpoint, run a second
driver on the same study, start two at the same instant, press Ctrl-C, delete or empty the Optuna
database before a resume, and make trials raise, diverge and run out of memory; after every
fault, check that nothing finished was lost or re-run.

    python bench/fault_injection.py                 # full: 10 kills, 16 trials
    python bench/fault_injection.py --kills 3 --trials 8     # the reduced form CI runs

Invariants checked after each kill: the results table loads; every trial finished before the
kill has the same row (state, accuracy, arch, completion time) and an untouched checkpoint; the
finished set only grows. At the end: exactly --trials trials, all finished, and the injected
faults recorded as FAIL with their reasons.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
FAULTS = {1: "exception", 4: "nan", 6: "oom"}
EXPECTED_ERROR = {"exception": "RuntimeError", "nan": "DivergedError", "oom": "OutOfMemoryError"}
MOMENTS = ("after a trial finished", "while the table is written", "at a random moment")


class Harness:
    def __init__(self, workdir: Path, trials: int, epochs: int, seed: int) -> None:
        self.workdir, self.trials = workdir, trials
        self.study = workdir / "faults"
        self.argv = ["--space", "resnext", "--dataset", "digits", "--budget-mmacs", "0.4", "--trials", str(trials),
                     "--epochs", str(epochs), "--seed", str(seed), "--results-dir", str(workdir), "--name", "faults"]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "SEARCH_FAULTS": ",".join(f"{n}={k}" for n, k in FAULTS.items())}
        self.rows: dict[int, tuple] = {}
        self.mtimes: dict[int, int] = {}

    def start(self, resume: bool) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "search.run", *self.argv, *(["--resume"] if resume else [])],
                                cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def table(self) -> pd.DataFrame:
        return pd.read_parquet(self.study / "trials.parquet")

    def finished(self) -> int:
        try:
            return int(self.table()["state"].isin(FINISHED).sum())
        except (OSError, ValueError, KeyError):
            return 0

    def wait_for(self, moment: str, driver: subprocess.Popen, rng: random.Random, limit: float = 60) -> str | None:
        """Block until ``moment``: the moment reached, MOMENTS[2] if the wait ran out first, or
        None if the driver ended first."""
        deadline, before = time.monotonic() + limit, self.finished()
        if moment == MOMENTS[2]:
            deadline = time.monotonic() + rng.uniform(1.0, 12.0)
        while time.monotonic() < deadline and driver.poll() is None:
            if moment == MOMENTS[0] and self.finished() > before:
                return moment
            if moment == MOMENTS[1] and any(self.study.glob(".trials.parquet.*.tmp")):
                return moment
            time.sleep(0.0005 if moment == MOMENTS[1] else 0.05)
        return MOMENTS[2] if driver.poll() is None else None

    def kill(self, driver: subprocess.Popen) -> None:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray processes of its group
        driver.communicate()
        self.wait_until_quiet()

    def wait_until_quiet(self, quiet: float = 3.0, limit: float = 60.0) -> None:
        """Until no checkpoint changes for ``quiet`` s: the orphaned trial workers have exited."""
        snap = lambda: {p: p.stat().st_mtime_ns for p in self.study.glob("trials/*/checkpoint.pt")}  # noqa: E731
        deadline, last, since = time.monotonic() + limit, snap(), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.5)
            if (now := snap()) != last:
                last, since = now, time.monotonic()

    def check(self) -> int:
        """The invariants; returns how many trials are finished."""
        df = self.table().set_index("trial")  # readable: the table is never half-written
        assert df.index.is_unique and sorted(df.index) == list(range(len(df))), "trial numbers not 0..n-1"
        done = df[df["state"].isin(FINISHED)]
        for number, row in self.rows.items():
            assert number in done.index, f"finished trial {number} lost"
            now = tuple(done.loc[number, ["state", "accuracy", "arch", "datetime_complete"]].astype(str))
            assert now == row, f"finished trial {number} changed: {row} -> {now}"
            path = self.study / "trials" / f"{number:05d}" / "checkpoint.pt"
            if number in self.mtimes:
                assert path.stat().st_mtime_ns == self.mtimes[number], f"finished trial {number} was re-run"
        for number, row in done.iterrows():
            self.rows[number] = tuple(row[["state", "accuracy", "arch", "datetime_complete"]].astype(str))
            path = self.study / "trials" / f"{number:05d}" / "checkpoint.pt"
            if path.exists():
                self.mtimes.setdefault(number, path.stat().st_mtime_ns)
        return len(done)

    def running_in_storage(self) -> set[int]:
        """Trials the Optuna storage (the source of truth; the table may lag it) has unfinished."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name="faults", storage=f"sqlite:///{self.study / 'optuna.db'}")
        return {t.number for t in study.get_trials(deepcopy=False) if t.state.name == "RUNNING"}

    def corrupt_an_interrupted_checkpoint(self) -> int | None:
        running = self.running_in_storage()
        for path in sorted(self.study.glob("trials/*/checkpoint.pt")):
            number = int(path.parent.name)
            if number in running:
                path.write_bytes(path.read_bytes()[:64])  # truncated: as a crash mid-write would leave it
                return number
        return None


def log_line(text: str) -> None:
    print(text, flush=True)


def run(kills: int = 10, trials: int = 16, epochs: int = 3, seed: int = 0, workdir: Path | None = None,
        log=log_line) -> dict:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="faults"))
    h, rng = Harness(workdir, trials, epochs, seed), random.Random(seed)
    report = {"kills": 0, "moments": {m: 0 for m in MOMENTS}, "corrupted_trial": None}
    start = time.monotonic()
    for k in range(kills):
        driver = h.start(resume=k > 0)
        moment = h.wait_for(MOMENTS[k % len(MOMENTS)], driver, rng)
        if moment is None:
            out, err = driver.communicate()
            assert driver.returncode == 0, f"driver failed: {err[-2000:]}"
            log(f"study finished before kill {k + 1}")
            break
        h.kill(driver)
        report["kills"] += 1
        report["moments"][moment] += 1
        log(f"kill {k + 1} {moment}: {h.check()} of {trials} trials finished, invariants hold")
    report.update(concurrent_and_ctrl_c(h))
    report.update(racing_drivers(h))
    report.update(lost_database(h))
    report["corrupted_trial"] = h.corrupt_an_interrupted_checkpoint()  # the final run must restart it
    runs_before = set(h.study.glob("ray/run-*/"))
    final = h.start(resume=True)
    out, err = final.communicate(timeout=900)
    assert final.returncode == 0, f"final resume failed ({final.returncode}): {err[-2000:]}"
    done = h.check()
    assert done == trials, f"{done} trials finished, {trials} asked"
    report["faults"] = check_faults(h)
    if report["corrupted_trial"] is not None:
        report["corrupted_trial_restarted_at_epoch"] = restarted_at(h, report["corrupted_trial"], runs_before)
    report["seconds"] = round(time.monotonic() - start, 1)
    report["states"] = h.table()["state"].value_counts().to_dict()
    return report


def lock_holder(h: Harness) -> int | None:
    try:
        return json.loads((h.study / ".lock").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def concurrent_and_ctrl_c(h: Harness) -> dict:
    """A second driver on a running study is refused by name; Ctrl-C then stops the first."""
    first = h.start(resume=True)
    deadline = time.monotonic() + 60
    while lock_holder(h) != first.pid and time.monotonic() < deadline:  # a killed driver's stale lock may be there
        time.sleep(0.05)
    second = h.start(resume=True)
    _, err = second.communicate(timeout=120)
    refused = second.returncode == 2 and f"pid {first.pid}" in err and len(err.strip().splitlines()) == 1
    assert refused, f"second driver not refused: {second.returncode} {err[-500:]}"
    time.sleep(6)  # let Ray start and trials run
    os.killpg(first.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
    _, err = first.communicate(timeout=180)
    assert "--resume" in err and first.returncode == 130, f"Ctrl-C: {first.returncode} {err[-1000:]}"
    h.wait_until_quiet()
    h.check()
    assert not (h.study / ".lock").exists(), "Ctrl-C left the lock behind"
    return {"concurrent_refused": True, "ctrl_c_exit": first.returncode}


def racing_drivers(h: Harness) -> dict:
    """Two drivers started at the same instant: one runs, the other is refused in one line."""
    pair = [h.start(resume=True), h.start(resume=True)]
    deadline, loser = time.monotonic() + 120, None
    while loser is None and time.monotonic() < deadline:
        loser = next((d for d in pair if d.poll() is not None), None)
        time.sleep(0.05)
    assert loser is not None, "neither of two racing drivers was refused"
    winner = pair[1 - pair.index(loser)]
    _, err = loser.communicate()
    assert loser.returncode == 2 and len(err.strip().splitlines()) == 1 and winner.poll() is None, \
        f"racing drivers: {loser.returncode} {err[-500:]}"
    os.killpg(winner.pid, signal.SIGINT)
    winner.communicate(timeout=180)
    h.wait_until_quiet()
    h.check()
    return {"racing_refused": err.strip()[:120]}


def lost_database(h: Harness) -> dict:
    """A resume whose Optuna database was deleted, or emptied, is refused before it writes: the
    table and the checkpoints stay as they were; the database put back, the study goes on."""
    db = h.study / "optuna.db"
    saved = db.read_bytes()
    outcome = {}
    for fault in ("deleted", "emptied"):
        before = {p: p.read_bytes() for p in (h.study / "trials.parquet", h.study / "trials.csv")}
        db.unlink() if fault == "deleted" else db.write_bytes(b"")
        driver = h.start(resume=True)
        _, err = driver.communicate(timeout=120)
        assert driver.returncode == 2 and "nothing was changed" in err and len(err.strip().splitlines()) == 1, \
            f"{fault} database: {driver.returncode} {err[-500:]}"
        assert all(p.read_bytes() == data for p, data in before.items()), f"{fault} database: the table was rewritten"
        h.check()
        db.write_bytes(saved)
        outcome[f"{fault}_database_refused"] = True
    return outcome


def restarted_at(h: Harness, number: int, runs_before: set[Path]) -> int:
    """The first epoch the corrupted trial reported after the corruption: 1 = from scratch."""
    runs = sorted(set(h.study.glob("ray/run-*/")) - runs_before, key=lambda p: p.stat().st_mtime)
    for run_dir in runs:
        progress = run_dir / f"trial_{number:05d}" / "progress.csv"
        if progress.exists() and progress.stat().st_size:
            epoch = int(pd.read_csv(progress)["epochs"].iloc[0])
            assert epoch == 1, f"trial {number} with a corrupt checkpoint resumed at epoch {epoch}"
            return epoch
    raise AssertionError(f"trial {number} with a corrupt checkpoint never ran again")


def check_faults(h: Harness) -> dict:
    df = h.table().set_index("trial")
    outcome = {}
    for number, kind in FAULTS.items():
        if number >= h.trials:
            continue
        row = df.loc[number]
        assert row["state"] == "FAIL" and str(row["error"]).startswith(EXPECTED_ERROR[kind]), (number, kind, dict(row))
        outcome[kind] = f"trial {number}: FAIL, {row['error']}"
    return outcome


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", help="where the study goes (default: a new temp folder)")
    args = p.parse_args()
    report = run(args.kills, args.trials, args.epochs, args.seed, args.workdir)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
