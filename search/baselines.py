"""``python -m search.baselines --budget-mmacs X --seeds S --epochs E``: the hand designs
(``spaces.designs``: He et al.'s CIFAR ResNets, ResNet-9, a three-block basic network,
ResNeXt-29's templates), each fitted to the budget, trained over S seeds as a study of their own
(``--space hand_designs --sampler grid --repeats S``, resumable with --resume), then one line per
design: mean test accuracy with its 95% interval, MACs and parameters. ``search.report`` and
``search.retrain`` set these beside a search's finalists."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from search.cli import OneLineParser, run_main
from search.config.flags import add_flags, given
from search.config.schedule import ScheduleConfig
from search.config.study import StudyConfig
from search.core.errors import require_int
from search.results.analysis import mean_interval

SPACE = "hand_designs"
# the study's settings a baseline takes: data, budget, training, where and on what it runs
SETTINGS = {"dataset", "data_dir", "download", "max_mmacs", "max_mparams", "seed", "name", "results_dir", "storage",
            "address", "storage_path", "train", "resources"}


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m search.baselines", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds per design (default 3)")
    add_flags(p, StudyConfig, only=SETTINGS)
    p.add_argument("--resume", action="store_true", help="continue the baselines of this name")
    return p


def config_from(settings: dict, seeds: int) -> StudyConfig:
    from spaces import SPACES

    designs = len(SPACES[SPACE].names)
    name = settings.pop("name", None)
    name = f"baselines-{settings.get('dataset', 'digits')}" if name is None else name  # "" is refused, not replaced
    return StudyConfig(space=SPACE, sampler="grid", repeats=seeds, trials=designs * seeds, name=name,
                       schedule=ScheduleConfig(scheduler="fifo"), **settings)


def summary(df: pd.DataFrame) -> str:
    """One row per design: runs, mean test accuracy with its 95% interval, MACs, parameters."""
    done = df[df["state"] == "COMPLETE"]
    rows = [{"design": design, "runs": len(group), "mmacs": group["macs"].iloc[0] / 1e6,
             "kparams": group["params"].iloc[0] / 1e3,
             **mean_interval("test_accuracy", group["test_accuracy"].astype(float), 0.95)}
            for design, group in done.groupby("design")]
    if not rows:
        return "no design has finished a run yet"
    table = pd.DataFrame(rows).sort_values("test_accuracy_mean", ascending=False)
    return "hand designs (test accuracy: mean and 95% interval over seeds):\n" + \
        table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> int:
        from search import results
        from search.study import optuna_study, pipeline

        optuna_study.quiet()
        require_int("--seeds", args.seeds, 1)
        settings = given(args, StudyConfig, only=SETTINGS)
        request = pipeline.Request(config_from(dict(settings), args.seeds), resume=args.resume, given=settings)
        prepared = pipeline.prepare(request)
        code = pipeline.execute(prepared)
        print(summary(results.load(prepared.config.study_dir())))
        return code

    return run_main("python -m search.baselines", body)


if __name__ == "__main__":
    sys.exit(main())
