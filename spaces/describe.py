"""``python -m spaces.describe SPACE``: the size of a space and the complexity of its samples."""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import Counter

import optuna

from blocks import complexity

from . import SPACES, Budget, check_budget, get


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments end with one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog="python -m spaces.describe", description=__doc__)
    p.add_argument("space", help=f"one of {', '.join(SPACES)}, or package.module:function")
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


def describe(name: str, budget: Budget, samples: int = 2000, seed: int = 0) -> str:
    if samples < 1:
        raise ValueError(f"--samples must be >= 1, got {samples}")
    space = get(name)
    check_budget(space, budget)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    start = time.perf_counter()
    specs = [space(study.ask(), budget) for _ in range(samples)]
    per_sample_ms = (time.perf_counter() - start) / samples * 1e3
    cxs = [complexity(s, budget.image_size) for s in specs]
    lines = [f"space {name}: {budget.describe()}"]
    count = getattr(space, "configurations", None)
    if count is not None:
        n = count(budget)
        lines.append(f"  parameter settings (before budget repairs): {n:.3g} (log10 {math.log10(n):.1f})")
    lines.append(f"  distinct architectures in {samples} random samples: {len(set(specs))}")
    lines.append(f"  {'':10} {'min':>10} {'median':>10} {'max':>10}")
    for label, values in (("params M", [c.params for c in cxs]), ("MACs M", [c.macs for c in cxs])):
        stats = (min(values), statistics.median(values), max(values))
        lines.append(f"  {label:10} " + " ".join(f"{v / 1e6:10.3f}" for v in stats))
    cards = Counter(s.max_cardinality for s in specs)
    if len(cards) <= 12:
        shares = ", ".join(f"{c}: {n / samples:.0%}" for c, n in sorted(cards.items()))
    else:  # group-width spaces (anynet) give many cardinalities
        values = sorted(cards.elements())
        shares = f"min {values[0]}, median {statistics.median(values):g}, max {values[-1]}"
    lines.append(f"  max cardinality per network: {shares}")
    lines.append(f"  sampling with budget repair: {per_sample_ms:.2f} ms per network")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        print(describe(args.space, budget_from(args), args.samples, args.seed))
    except ValueError as err:
        print(f"python -m spaces.describe: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
