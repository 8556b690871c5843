"""A default study's best network against a hand-built one, trained by the same trainer.

The hand-built spec (issue 14): a 3x3 stem of width 16, then one basic block per stage at
widths 32, 64, 64, each with stride 2 (9.0 MMACs, 152k parameters at 32px), given to
``search.run`` as a user space of one point. Against it, a ``--trials``-trial study of each
space in ``--spaces`` with the default sampler and scheduler, at the same MACs cap, epochs,
batch size and learning rate, on the same CIFAR-10 subset. Prints each run's best trial by
validation accuracy, with its test accuracy, MACs and parameters.

    .venv/bin/python bench/space_vs_handbuilt.py                         # 10k images, 10 epochs, 12 trials
    .venv/bin/python bench/space_vs_handbuilt.py --spaces resnext_v2 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import optuna

from _common import cifar_subset_dir, machine, run_study
from blocks import NetSpec, StageSpec
from spaces import Budget


def hand_built(trial: optuna.Trial, budget: Budget) -> NetSpec:
    """The one network of the hand-built 'space'."""
    stages = tuple(StageSpec(1, width, 2, "basic") for width in (32, 64, 64))
    return NetSpec(stages, "small", 16, 0, budget.in_channels, budget.num_classes)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/space_vs_handbuilt.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--spaces", default="resnext", help="comma list of spaces whose studies are compared (default resnext)")
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--per-class", type=int, default=1000, help="training images per class (default 1000)")
    p.add_argument("--budget-mmacs", type=float, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench-handbuilt"))
    return p.parse_args(argv)


def best_row(table):
    done = table[table["state"] == "COMPLETE"]
    return done.loc[done["accuracy"].idxmax()]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    subset = cifar_subset_dir(args.per_class, 100, args.workdir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    print(f"{machine()}; CIFAR-10 subset {args.per_class}/class, 100/class test; <= {args.budget_mmacs:g} MMACs; "
          f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, seed {args.seed}", flush=True)
    common = ["--dataset", f"imagefolder:{subset}", "--data-dir", str(args.workdir / "data"),
              "--budget-mmacs", str(args.budget_mmacs), "--epochs", str(args.epochs), "--batch-size",
              str(args.batch_size), "--lr", str(args.lr), "--seed", str(args.seed),
              "--max-concurrent", str(args.max_concurrent), "--results-dir", str(args.workdir / "results")]
    runs = [("hand-built", ["--space", "space_vs_handbuilt:hand_built", "--trials", "1", "--scheduler", "fifo"])]
    runs += [(space, ["--space", space, "--trials", str(args.trials)]) for space in args.spaces.split(",")]
    for label, flags in runs:
        run = run_study([*flags, *common, "--name", f"{label}-{stamp}"])
        best, table = best_row(run["table"]), run["table"]
        print(f"{label}: {len(table)} trial(s) in {run['wall'] / 60:.1f} min ({(table['state'] == 'COMPLETE').sum()} "
              f"complete); best: validation {best['accuracy']:.4f}, test {best['test_accuracy']:.4f}, "
              f"{best['macs'] / 1e6:.2f} MMACs, {best['params'] / 1e3:.0f}k params, arch {best['arch']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
