"""Does the default study beat the best hand design at equal MACs? Judged over seeds.

On a CIFAR-10 subset at one MAC budget and one epoch count, each step a study of its own under
``--workdir`` and resumed where it stopped when the command is run again:

1. ``python -m search.baselines``: every hand design of the registry, fitted to the budget, over
   ``--seeds`` seeds;
2. the default study (``--space resnext``, TPE, ASHA, the hand designs queued first) and its
   control (``--sampler random``, which queues none), each bounded by ``--budget-epochs``
   trial-epochs;
3. ``python -m search.retrain --top 1``: each study's best finalist (by the search's validation
   accuracy) over the same number of seeds;
4. ``python -m search.report STUDY --baselines HAND``: the headline (the retrained finalist
   against the best design, Welch's t-test, 95% intervals) for each study.

The default study's headline comes before the control's is started.

    .venv/bin/python bench/beats_hand.py                      # <= 10 MMACs, 10 epochs, 120 trial-epochs
    .venv/bin/python bench/beats_hand.py --budget-mmacs 50
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from _common import cifar_subset_dir, machine

ARMS = {"default": [], "random": ["--sampler", "random"]}  # the default study, then its control


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/beats_hand.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--budget-mmacs", type=float, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--budget-epochs", type=int, default=120, help="trial-epochs per study (default 120)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--top", type=int, default=1, help="finalists retrained per study (default 1: the best)")
    p.add_argument("--per-class", type=int, default=1000, help="training images per class (default 1000)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--steps", default="baselines,studies,retrain,report", help="which steps, comma list")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench-edf"))
    return p.parse_args(argv)


def python(*args: str) -> None:
    print("$ python " + " ".join(args), flush=True)
    code = subprocess.run([sys.executable, *args]).returncode
    if code != 0:
        raise SystemExit(f"exited with {code}: python {' '.join(args)}")


def resumable(results: Path, name: str, argv: list[str]) -> list[str]:
    """``argv`` for a new study, or the resume of the one already there."""
    if (results / name / "study.json").exists():
        return ["--name", name, "--results-dir", str(results), "--resume"]
    return [*argv, "--name", name, "--results-dir", str(results)]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    steps = set(args.steps.split(","))
    subset, results = cifar_subset_dir(args.per_class, 100, args.workdir), args.workdir / "results"
    tag = f"{args.budget_mmacs:g}M-{args.epochs}e"
    common = ["--dataset", f"imagefolder:{subset}", "--data-dir", str(args.workdir / "data"),
              "--budget-mmacs", str(args.budget_mmacs), "--epochs", str(args.epochs),
              "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--max-concurrent", str(args.max_concurrent),
              "--gpus-per-trial", str(args.gpus_per_trial)]
    hand = f"hand-{tag}"
    print(f"{machine()}; CIFAR-10 subset {args.per_class}/class; <= {args.budget_mmacs:g} MMACs; {args.epochs} epochs; "
          f"{args.budget_epochs} trial-epochs per study; {args.seeds} seeds", flush=True)
    if "baselines" in steps:
        python("-m", "search.baselines", *resumable(results, hand, [*common, "--seeds", str(args.seeds)]))
    for arm, flags in ARMS.items():
        name = f"{arm}-{tag}-{args.budget_epochs}te"
        if "studies" in steps:
            python("-m", "search.run", *resumable(results, name, [
                *common, "--space", "resnext", *flags, "--budget-epochs", str(args.budget_epochs),
                "--trials", str(args.budget_epochs), "--seed", "0"]))
        if "retrain" in steps:
            python("-m", "search.retrain", str(results / name), "--top", str(args.top), "--seeds", str(args.seeds),
                   "--epochs", str(args.epochs), "--max-concurrent", str(args.max_concurrent))
        if "report" in steps:
            python("-m", "search.report", str(results / name), "--baselines", str(results / hand),
                   "--out", str(results / name / "report"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
