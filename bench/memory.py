"""Benchmark 7: memory. Peak resident memory of the driver and of a trial worker, and whether a
worker grows over many trials: a study of ``--trials`` one-epoch trials, one at a time, so that
Ray reuses one worker process for all of them; each trial records the worker's pid and resident
MiB when it ends. Growth is the slope of a line fitted to the second half of the trials (the
first ones fill oneDNN's primitive cache and the allocator's pools).

    python bench/memory.py [--trials 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import machine, run_study, table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--results-dir", type=Path, default=Path(tempfile.mkdtemp(prefix="bench-memory-")))
    args = p.parse_args()
    study = run_study(["--name", "memory", "--results-dir", str(args.results_dir), "--trials", str(args.trials),
                       "--epochs", "1", "--scheduler", "fifo", "--max-concurrent", "1", "--cpus-per-trial", "2"])
    df = study["table"].sort_values("datetime_complete")
    rss = df["worker_rss_mb"].to_numpy()
    half = len(rss) // 2  # the first trials fill oneDNN's primitive cache and the allocator's pools
    slope = np.polyfit(np.arange(len(rss) - half), rss[half:], 1)[0] if len(rss) - half > 1 else float("nan")
    row = {"trials": len(df), "worker pids": df["worker_pid"].nunique(), "driver peak MiB": study["driver_peak_mb"],
           "worker peak MiB": float(df["worker_peak_rss_mb"].max()), "worker MiB after 1": float(rss[0]),
           "max MiB": float(rss.max()), "last MiB": float(rss[-1]),
           f"growth MiB/trial, trials {half + 1}-{len(rss)}": float(slope)}
    print(f"\n{machine()}", file=sys.stderr)
    print(table([row]))
    print("worker MiB after each trial: " + " ".join(f"{v:.0f}" for v in rss))


if __name__ == "__main__":
    main()
