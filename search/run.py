"""``python -m search.run``: run (or resume) a study. The command line only; see driver.py."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from spaces.describe import OneLineParser

from .config import OBJECTIVES, SAMPLERS, SCHEDULERS, STOPPED_AS, StudyConfig

DEFAULTS = StudyConfig()


def bounds(text: str) -> tuple[float, float | None]:
    """'MAX' or 'MIN:MAX' in millions (MAX may be empty: no upper bound)."""
    low, _, high = text.rpartition(":")
    try:
        return float(low or 0), (float(high) if high else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MAX or MIN:MAX in millions, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m search.run", description="Run or resume an architecture-search study.")
    add = p.add_argument
    add("--space", help=f"search space: resnet, resnext, anynet, anynetx_b..e or package.module:function (default {DEFAULTS.space})")
    add("--dataset", help="digits (default, embedded), cifar10, cifar100, fashionmnist, mnist or imagefolder:PATH")
    add("--data-dir", help=f"where torchvision datasets and image caches live (default {DEFAULTS.data_dir})")
    add("--download", action="store_true", default=None, help="allow torchvision to download the dataset")
    add("--trials", type=int, help=f"trials in the study, in all (default {DEFAULTS.trials})")
    add("--epochs", type=int, help=f"epoch budget of a trial (default {DEFAULTS.epochs})")
    add("--budget-mmacs", type=bounds, help="MACs bounds in millions, MAX or MIN:MAX (default for digits: 2)")
    add("--budget-mparams", type=bounds, help="parameter bounds in millions, MAX or MIN:MAX")
    add("--sampler", choices=SAMPLERS, help=f"Optuna sampler (default {DEFAULTS.sampler})")
    add("--scheduler", choices=SCHEDULERS, help=f"Ray Tune scheduler (default {DEFAULTS.scheduler})")
    add("--stopped-as", choices=STOPPED_AS,
        help="how a trial the scheduler stops early is told to Optuna: pruned (default) or complete (Ray's stock OptunaSearch)")
    add("--objective", choices=["accuracy"], help="single objective (the default)")
    add("--objectives", help=f"comma list for a Pareto search, accuracy first: e.g. accuracy,macs (of {', '.join(OBJECTIVES)})")
    add("--cpus-per-trial", type=float, help=f"CPUs each trial gets (default {DEFAULTS.cpus_per_trial:g})")
    add("--gpus-per-trial", type=float, help="GPUs each trial gets; fractions share a GPU (default 0)")
    add("--max-concurrent", type=int, help=f"trials running at once (default {DEFAULTS.max_concurrent})")
    add("--seed", type=int, help=f"seed of the sampler and the trials (default {DEFAULTS.seed})")
    add("--name", help="study name (default <space>-<dataset>)")
    add("--results-dir", help=f"where study folders are written (default {DEFAULTS.results_dir})")
    add("--storage", help="Optuna storage URL (default sqlite:///<results-dir>/<name>/optuna.db)")
    add("--address", help="address of an existing Ray cluster to join: auto or HOST:PORT (default: start a local one)")
    add("--storage-path", help="where trial checkpoints and Ray's state go, shared by all nodes: a folder or a pyarrow "
                               "URI such as s3://bucket/path (default: the study folder)")
    add("--batch-size", type=int, help="training batch size (default 32)")
    add("--lr", type=float, help="peak learning rate (default 0.05)")
    add("--compile", action="store_true", default=None, help="torch.compile each trial's network (compile time reported apart)")
    add("--resume", action="store_true", help="continue the study of this name")
    return p


def overrides(args: argparse.Namespace) -> dict:
    """The StudyConfig fields the user set on the command line."""
    out = {k: getattr(args, k) for k in ("space", "dataset", "data_dir", "download", "trials", "epochs", "sampler",
                                          "scheduler", "stopped_as", "cpus_per_trial", "gpus_per_trial", "max_concurrent", "seed",
                                          "results_dir", "storage", "address", "storage_path")}
    if args.budget_mmacs is not None:
        out["min_mmacs"], out["max_mmacs"] = args.budget_mmacs
    if args.budget_mparams is not None:
        out["min_mparams"], out["max_mparams"] = args.budget_mparams
    if args.objectives is not None:
        out["objectives"] = tuple(o.strip() for o in args.objectives.split(","))
    train = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr), ("compile", args.compile)) if v is not None}
    out["train"] = train or None
    return {k: v for k, v in out.items() if v is not None}


def config_from(args: argparse.Namespace) -> StudyConfig:
    given = overrides(args)
    known = {f.name for f in fields(StudyConfig)}
    return StudyConfig(name=args.name or "", **{k: v for k, v in given.items() if k in known})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import optuna

    from . import driver  # after argument parsing, so --help stays instant

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        config = config_from(args)
        prepared = driver.prepare(config, args.resume, overrides(args))
        return driver.run(prepared, args.resume)
    except ValueError as err:
        print(f"python -m search.run: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
