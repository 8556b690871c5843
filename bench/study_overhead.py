"""Benchmark 3: how much of a study's wall time its trials spend training.

Runs the default study (``python -m search.run`` with no flags but a fresh name and results
folder) in this process, Ray's start-up included, and divides the trials' summed training
seconds by wall seconds x concurrent trials. The table splits the rest: inside each trial, its
set-up (network, data on the device, checkpoint), its speed measurement against its dense twin,
its validation passes and the rest (checkpoints, reporting each epoch to the driver); outside the
trials (Ray's start-up and shutdown, scheduling, Optuna, the results table, idle slots).

    python bench/study_overhead.py [-- extra search.run flags]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import machine, run_study, table
from search.study.resources import CPU_CONCURRENCY


def shares(wall: float, df, slots: int) -> dict[str, float]:
    total = wall * slots
    parts = {k: float(df[f"{k}_seconds"].fillna(0).sum()) for k in ("train", "eval", "setup", "measure", "trial")}
    row = {"wall s": wall, "trials": len(df), "slots": slots}
    row.update({f"{k} share": v / total for k, v in parts.items()})
    row["in trial, other"] = row.pop("trial share") - sum(row[f"{k} share"] for k in ("train", "eval", "setup", "measure"))
    row["outside trials"] = 1 - parts["trial"] / total
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results-dir", type=Path, default=Path(tempfile.mkdtemp(prefix="bench-study-")))
    p.add_argument("extra", nargs="*", help="further search.run flags, after --")
    args = p.parse_args()
    argv = ["--name", "overhead", "--results-dir", str(args.results_dir), *args.extra]
    study = run_study(argv)
    slots = int(argv[argv.index("--max-concurrent") + 1]) if "--max-concurrent" in argv else CPU_CONCURRENCY
    row = shares(study["wall"], study["table"], slots)
    row["first trial after s"] = study["first_trial_after"]
    row["worker peak MiB"] = float(study["table"]["worker_peak_rss_mb"].max())
    row["driver peak MiB"] = study["driver_peak_mb"]
    print(f"\n{machine()}", file=sys.stderr)
    print(table([row]))
    print(f"target: train share >= 0.85 -> {'met' if row['train share'] >= 0.85 else 'NOT met'}")


if __name__ == "__main__":
    main()
