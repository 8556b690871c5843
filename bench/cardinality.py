"""The cardinality experiment of ResNeXt (Xie et al. 2017, Table 3), reproduced at small scale.

The ``resnext_templates`` grid (1x64d, 2x40d, 4x24d, 8x14d, 32x4d at the same MACs, within 5%)
on the CIFAR-10 copy, each template with ``--seeds`` seeds, through the project's own study
(``--sampler grid --repeats``, FIFO: every run to the end). Prints a table like the paper's:
template, cardinality, group width, params, MACs, measured training images/s, and validation
and test accuracy as mean with a 95% Student-t interval over the seeds.

    .venv/bin/python bench/cardinality.py                       # CPU default: a subset, < 1 hour on 2 cores
    .venv/bin/python bench/cardinality.py --per-class 5000 --test-per-class 1000 \\
        --budget-mmacs 750 --epochs 30 --gpus-per-trial 0.25   # the full set on a GPU
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from _common import cifar_subset_dir, machine, run_study
from search.results import analysis


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/cardinality.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--per-class", type=int, default=400, help="training images per class (default 400)")
    p.add_argument("--test-per-class", type=int, default=100, help="test images per class (default 100)")
    p.add_argument("--budget-mmacs", type=float, default=50, help="MACs of every template, in millions (default 50)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--cpus-per-trial", type=float, default=1)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench-cardinality"))
    return p.parse_args(argv)


def paper_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per template: its shape, cost, measured speed and accuracy over the seeds."""
    designs = analysis.by_configuration(df).set_index("template")
    speed = df.groupby("template")["images_per_second"].mean()
    group_width = df.groupby("template")["min_group_width"].first()
    rows = []
    for template in ("1x64d", "2x40d", "4x24d", "8x14d", "32x4d"):
        d = designs.loc[template]
        rows.append({
            "template": template, "cardinality": int(d["max_cardinality"]), "group_width": int(group_width[template]),
            "params_k": d["params"] / 1e3, "mmacs": d["macs"] / 1e6, "train_img_s": speed[template], "runs": int(d["runs"]),
            "val_acc": f"{d['accuracy_mean']:.4f} [{d['accuracy_ci_low']:.4f}, {d['accuracy_ci_high']:.4f}]",
            "test_acc": f"{d['test_accuracy_mean']:.4f} [{d['test_accuracy_ci_low']:.4f}, {d['test_accuracy_ci_high']:.4f}]",
        })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    subset = cifar_subset_dir(args.per_class, args.test_per_class, args.workdir)
    name = time.strftime("cardinality-%Y%m%d-%H%M%S")
    study = ["--space", "resnext_templates", "--sampler", "grid", "--repeats", str(args.seeds),
             "--dataset", f"imagefolder:{subset}", "--data-dir", str(args.workdir / "data"),
             "--budget-mmacs", str(args.budget_mmacs), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
             "--lr", str(args.lr), "--max-concurrent", str(args.max_concurrent), "--cpus-per-trial", str(args.cpus_per_trial),
             "--gpus-per-trial", str(args.gpus_per_trial), "--results-dir", str(args.workdir / "results"), "--name", name]
    print(f"{machine()}; CIFAR-10 subset {args.per_class}/class train (split into train and validation by the fixed rule of search.data), "
          f"{args.test_per_class}/class test; {args.epochs} epochs, batch {args.batch_size}, lr {args.lr}; "
          f"{args.seeds} seeds; {args.max_concurrent} trials at once", flush=True)
    run = run_study(study)
    df = run["table"]
    if (df["state"] != "COMPLETE").any():
        print(f"not every run completed: {df['state'].value_counts().to_dict()}", file=sys.stderr)
    print(f"\nstudy {args.workdir / 'results' / name}: {len(df)} runs in {run['wall'] / 60:.1f} min\n")
    print(paper_table(df).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
