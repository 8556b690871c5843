"""``python -m search.run``: run (or resume) a study. The command line only; see driver.py."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import fields
from typing import Any

import spaces

from search.cli import OneLineParser, gpus_arg, run_main
from search.config.study import OBJECTIVES, SAMPLERS, SCHEDULERS, STOPPED_AS, StudyConfig
from search.config.train import STEP_MODES, TrainConfig

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
    add("--trials", type=int, help=f"trials in the study, in all (default {DEFAULTS.trials}; with --sampler grid: all of the grid)")
    add("--epochs", type=int, help=f"epoch budget of a trial (default {DEFAULTS.epochs})")
    add("--budget-mmacs", type=bounds, help="MACs bounds in millions, MAX or MIN:MAX (default for digits: 2)")
    add("--budget-mparams", type=bounds, help="parameter bounds in millions, MAX or MIN:MAX")
    add("--sampler", choices=SAMPLERS, help=f"Optuna sampler (default {DEFAULTS.sampler}); grid enumerates a space "
        "that declares its choices (resnext_templates), --trials then defaults to the grid's size x --repeats")
    add("--scheduler", choices=SCHEDULERS, help=f"Ray Tune scheduler (default {DEFAULTS.scheduler}; fifo with --sampler grid)")
    add("--grace-period", type=int, help="ASHA: epochs before a trial can first be stopped (default: a third of --epochs)")
    add("--reduction-factor", type=float, help=f"ASHA: each rung lets on 1/this of its trials (default {DEFAULTS.reduction_factor:g})")
    add("--brackets", type=int, help=f"ASHA: successive-halving brackets, > 1 for asynchronous Hyperband (default {DEFAULTS.brackets})")
    add("--stopped-as", choices=STOPPED_AS,
        help="how a trial the scheduler stops early is told to Optuna: pruned (default) or complete (Ray's stock OptunaSearch)")
    add("--objective", choices=["accuracy"], help="single objective (the default)")
    add("--objectives", help=f"comma list for a Pareto search, accuracy first: e.g. accuracy,macs (of {', '.join(OBJECTIVES)})")
    add("--cpus-per-trial", type=float, help=f"CPUs each trial gets (default {DEFAULTS.cpus_per_trial:g})")
    add("--gpus-per-trial", type=gpus_arg, help="GPUs each trial gets; fractions share a GPU; 0 trains on CPUs "
        "(default auto: --gpu-share of a GPU when there are GPUs, else 0)")
    add("--gpu-share", type=float, help=f"with --gpus-per-trial auto, the share of one GPU each trial gets "
        f"(default {DEFAULTS.gpu_share:g}: four trials per GPU)")
    add("--max-concurrent", type=int, help="trials running at once (default: as many as the GPUs hold at their "
        "share, within the CPUs; 2 on CPUs)")
    add("--warm-start", nargs="+", metavar="STUDY", help="earlier studies of the same space whose best trials "
        "(or Pareto front) run first, fitted to this study's budget")
    add("--repeats", type=int, help="seeds per sampled configuration, each a trial of its own (default 1)")
    add("--seed", type=int, help=f"seed of the sampler and the trials (default {DEFAULTS.seed})")
    add("--name", help="study name (default <space>-<dataset>)")
    add("--results-dir", help=f"where study folders are written (default {DEFAULTS.results_dir})")
    add("--storage", help="Optuna storage URL (default sqlite:///<results-dir>/<name>/optuna.db)")
    add("--address", help="address of an existing Ray cluster to join: auto or HOST:PORT (default: start a local one)")
    add("--storage-path", help="where trial checkpoints and Ray's state go, shared by all nodes: a folder or a pyarrow "
                               "URI such as s3://bucket/path (default: the study folder)")
    add("--batch-size", type=int, help=f"training batch size (default {DEFAULTS.train.batch_size})")
    add("--lr", type=float, help=f"peak learning rate (default {DEFAULTS.train.lr:g})")
    add("--compile", action="store_true", default=None, help="torch.compile each trial's network (compile time reported apart)")
    add("--step", choices=STEP_MODES, help="the training step: auto (default: a CUDA graph on GPUs, eager on CPUs), "
        "eager, or graph (on CPUs: eager)")
    add("--resume", action="store_true", help="continue the study of this name")
    return p


TRAIN_FLAGS = ("epochs", "batch_size", "lr", "compile", "step")  # flags that set the TrainConfig


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The StudyConfig fields the user set on the command line; ``train`` holds the TrainConfig
    fields they set."""
    skip = {"name", "resume", "budget_mmacs", "budget_mparams", "objective", "objectives", "warm_start", *TRAIN_FLAGS}
    out = {f.name: getattr(args, f.name) for f in fields(StudyConfig) if f.name not in skip and hasattr(args, f.name)}
    if args.budget_mmacs is not None:
        out["min_mmacs"], out["max_mmacs"] = args.budget_mmacs
    if args.budget_mparams is not None:
        out["min_mparams"], out["max_mparams"] = args.budget_mparams
    if args.objectives is not None:
        out["objectives"] = tuple(o.strip() for o in args.objectives.split(","))
    if args.warm_start is not None:
        out["warm_start"] = tuple(args.warm_start)
    out = {k: v for k, v in out.items() if v is not None}
    train = {k: getattr(args, k) for k in TRAIN_FLAGS if getattr(args, k) is not None}
    return {**out, "train": train} if train else out


def config_from(args: argparse.Namespace) -> StudyConfig:
    given = overrides(args)
    train = TrainConfig(**given.pop("train", {}))
    if given.get("sampler") == "grid":  # designs compared, not searched: the whole grid, each run to the end
        given.setdefault("trials", grid_size(given.get("space", DEFAULTS.space)) * given.get("repeats", 1))
        given.setdefault("scheduler", "fifo")
    return StudyConfig(name=args.name or "", train=train, **given)


def grid_size(space: str) -> int:
    return math.prod(len(choices) for choices in spaces.grid_of(spaces.get(space), space).values())


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from search.study import pipeline as driver  # after argument parsing, so --help stays instant
    from search.study import optuna_study

    optuna_study.quiet()

    def study() -> int:
        config = config_from(args)
        return driver.launch(config, args.resume, overrides(args))

    return run_main("python -m search.run", study)


if __name__ == "__main__":
    sys.exit(main())
