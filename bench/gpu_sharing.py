"""GPU benchmark: total training images per second of 1, 2 and 4 concurrent trials sharing one
GPU through fractional ``--gpus-per-trial``. Each setting runs a study of the same trials (FIFO,
no early stopping) and divides the images all its trials trained by the time from its first
trial's start to its last trial's end.

    python bench/gpu_sharing.py [--concurrency 1,2,4] [--trials 8] [--epochs 3] [-- search.run flags]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from _common import machine, run_study, table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", default="1,2,4")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--results-dir", type=Path, default=Path(tempfile.mkdtemp(prefix="bench-gpu-")))
    p.add_argument("extra", nargs="*", help="further search.run flags, after --")
    args = p.parse_args()
    cuda = torch.cuda.is_available()  # on a CPU: the same settings without GPUs (a smoke run of the script)
    rows = []
    for k in (int(c) for c in args.concurrency.split(",")):
        study = run_study(["--name", f"share-{k}", "--results-dir", str(args.results_dir), "--trials", str(args.trials),
                           "--epochs", str(args.epochs), "--scheduler", "fifo", "--max-concurrent", str(k),
                           "--gpus-per-trial", f"{1 / k:g}" if cuda else "0", "--cpus-per-trial", "1", *args.extra])
        df = study["table"]
        span = (df["datetime_complete"].max() - df["datetime_start"].min()).total_seconds()
        images = float((df["images_per_second"] * df["train_seconds"]).sum())  # per trial: rate x time
        rows.append({"concurrent": k, "gpus/trial": 1 / k if cuda else 0, "study wall s": study["wall"], "trials span s": span,
                     "images/s (all trials)": images / span, "mean images/s per trial": float(df["images_per_second"].mean())})
        print(f"  {k} at once: {images / span:,.0f} images/s over {span:.1f} s", flush=True)  # kept if a limit cuts the rest
    print(f"\n{machine()}", file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
