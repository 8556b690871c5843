"""``python -m search.describe SPACE``: the size of a space and the complexity of its samples."""

from __future__ import annotations

import argparse
import sys

import spaces
from spaces import Budget
from spaces.summary import describe

from search.cli import OneLineParser, run_main
from search.core.errors import require_int


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog="python -m search.describe", description=__doc__)
    p.add_argument("space", help=f"one of {', '.join(spaces.names())}, or package.module:function")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--in-channels", type=int, default=3)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--min-mmacs", type=float, default=0.0, help="lower MACs bound, in millions")
    p.add_argument("--max-mmacs", type=float, default=None, help="upper MACs bound, in millions")
    p.add_argument("--min-mparams", type=float, default=0.0, help="lower params bound, in millions")
    p.add_argument("--max-mparams", type=float, default=None, help="upper params bound, in millions")
    p.add_argument("--samples", type=int, default=2000, help="random samples to summarise (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def budget_from(args: argparse.Namespace) -> Budget:
    return Budget.from_millions(
        args.image_size, args.in_channels, args.num_classes, args.min_mmacs, args.max_mmacs, args.min_mparams, args.max_mparams
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from search.study import optuna_study

    optuna_study.quiet()
    def body() -> int:
        require_int("--samples", args.samples, 1)
        print(describe(args.space, budget_from(args), args.samples, args.seed))
        return 0

    return run_main("python -m search.describe", body)


if __name__ == "__main__":
    sys.exit(main())
