"""Design spaces compared the RegNet way: error EDFs of random samples trained alike.

The same number of random samples from each space (``--sampler random --scheduler fifo``: every
sample trained its whole budget) on the same CIFAR-10 subset at the same MAC budget; prints, per
space, the share of samples at or under each error, the median and best error, and a one-sided
Mann-Whitney test that the first space's errors are lower than the second's.

    .venv/bin/python bench/space_edf.py                          # resnext against resnext_v1, CPU-sized
    .venv/bin/python bench/space_edf.py --samples 100 --epochs 10 --gpus-per-trial 0.25
    .venv/bin/python bench/space_edf.py --spaces resnext resnext_v1 --samples 48 --epochs 5 --per-class 1000 \
        --workdir /tmp/bench-edf --names edf-resnext_v4 edf-resnext-v1     # the default against the old one

Each space's samples are a study named for its settings under ``--workdir``: run the same
command again after an interruption and it resumes them (``--resume``), re-running nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from _common import cifar_subset_dir, machine, run_study


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/space_edf.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--spaces", nargs=2, default=["resnext", "resnext_v1"], help="the new space, then the old "
                   "(default: today's resnext against resnext_v1)")
    p.add_argument("--samples", type=int, default=16, help="random samples per space (default 16)")
    p.add_argument("--per-class", type=int, default=400, help="training images per class (default 400)")
    p.add_argument("--budget-mmacs", type=float, default=10)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench-space-edf"))
    p.add_argument("--names", nargs=2, help="the two spaces' study names under WORKDIR/results (default: named for "
                   "the settings), to compare studies run by other commands")
    return p.parse_args(argv)


def _errors(run: dict, space: str) -> np.ndarray:
    done = run["table"][run["table"]["state"] == "COMPLETE"]
    print(f"{space}: {len(done)} complete of {len(run['table'])} in {run['wall'] / 60:.1f} min; median params "
          f"{done['params'].median() / 1e3:.0f}k, median MMACs {done['macs'].median() / 1e6:.2f}", flush=True)
    return 1 - done["accuracy"].to_numpy()


def main(argv: list[str] | None = None) -> int:
    from scipy import stats

    args = parse(argv)
    subset = cifar_subset_dir(args.per_class, 100, args.workdir)
    print(f"{machine()}; CIFAR-10 subset {args.per_class}/class; <= {args.budget_mmacs:g} MMACs; {args.samples} random "
          f"samples per space, {args.epochs} epochs each, batch {args.batch_size}, lr {args.lr}", flush=True)
    errors = {}
    for i, space in enumerate(args.spaces):
        label = re.sub(r"[^A-Za-z0-9._-]", "_", space.rpartition("/")[2])[:40]  # a refined:PATH space: its file
        name = args.names[i] if args.names else \
            f"edf-{label}-{args.samples}x{args.epochs}e-{args.per_class}pc-{args.budget_mmacs:g}M-s{args.seed}"
        if (args.workdir / "results" / name / "study.json").exists():
            run = run_study(["--name", name, "--results-dir", str(args.workdir / "results"), "--resume",
                             "--max-concurrent", str(args.max_concurrent)])
            errors[space] = _errors(run, space)
            continue
        run = run_study(["--space", space, "--sampler", "random", "--scheduler", "fifo", "--trials", str(args.samples),
                         "--seed", str(args.seed), "--dataset", f"imagefolder:{subset}",
                         "--data-dir", str(args.workdir / "data"), "--budget-mmacs", str(args.budget_mmacs),
                         "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
                         "--max-concurrent", str(args.max_concurrent), "--gpus-per-trial", str(args.gpus_per_trial),
                         "--results-dir", str(args.workdir / "results"), "--name", name])
        errors[space] = _errors(run, space)
    grid = np.round(np.arange(0.30, 0.91, 0.05), 2)
    table = pd.DataFrame({space: [(e <= x).mean() for x in grid] for space, e in errors.items()}, index=grid)
    table.index.name = "error <="
    print("\nshare of samples at or under each validation error (EDF):")
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    new, old = args.spaces
    for space in args.spaces:
        ci = stats.bootstrap((errors[space],), np.median, confidence_level=0.95, method="percentile",
                             random_state=0).confidence_interval
        print(f"{space}: median error {np.median(errors[space]):.4f} [95% bootstrap {ci.low:.4f}, {ci.high:.4f}], "
              f"best {errors[space].min():.4f}")
    ks = stats.ks_2samp(errors[new], errors[old], alternative="greater")  # new's EDF above old's: errors lower
    print(f"Kolmogorov-Smirnov, {new}'s error EDF left of {old}'s: D = {ks.statistic:.3f}, p = {ks.pvalue:.3g}")
    test = stats.mannwhitneyu(errors[new], errors[old], alternative="less")
    print(f"Mann-Whitney U, {new} errors lower than {old}'s: U = {test.statistic:.0f}, p = {test.pvalue:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
