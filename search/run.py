"""``python -m search.run``: run (or resume) a study. Its flags are the configuration's settings
(``search.config``); the study itself is ``search.study.pipeline``."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import spaces

from search.cli import OneLineParser, run_main
from search.config.flags import add_flags, given
from search.config.study import StudyConfig


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m search.run", description="Run or resume an architecture-search study.")
    add_flags(p, StudyConfig)
    p.add_argument("--objective", choices=["accuracy"], help="single objective: the default, as --objectives accuracy")
    p.add_argument("--resume", action="store_true", help="continue the study of this name")
    return p


def config_from(settings: dict[str, Any]) -> StudyConfig:
    """The study the flags describe; with --sampler grid, designs compared rather than searched:
    the whole grid, each run to the end."""
    settings = dict(settings)
    if settings.get("sampler") == "grid":
        settings.setdefault("trials", grid_size(settings.get("space", StudyConfig().space)) * settings.get("repeats", 1))
        settings["schedule"] = {"scheduler": "fifo", **settings.get("schedule", {})}
    return StudyConfig(**settings)


def grid_size(space: str) -> int:
    return math.prod(len(choices) for choices in spaces.grid_of(spaces.get(space), space).values())


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def study() -> int:
        from search.study import optuna_study, pipeline  # after parsing, so that --help stays instant

        optuna_study.quiet()
        settings = given(args, StudyConfig)
        if settings.get("budget_epochs"):  # the budget bounds the study (on resume too): --trials only if given
            settings.setdefault("trials", settings["budget_epochs"])
        request = pipeline.Request(config_from(settings), resume=args.resume, given=settings)
        return pipeline.execute(pipeline.prepare(request))

    return run_main("python -m search.run", study)


if __name__ == "__main__":
    sys.exit(main())
