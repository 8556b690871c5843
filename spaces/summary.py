"""The size of a space and the complexity of its samples (the command: ``python -m search.describe``)."""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter

import optuna

from blocks import complexity

from . import Budget, CountableSpace, check_budget, get
from .refined import RefinedSpace


def describe(name: str, budget: Budget, samples: int = 2000, seed: int = 0) -> str:
    """A few lines on space ``name`` under ``budget``: its size when it can count itself, and
    the spread of params, MACs and cardinality over ``samples`` random networks."""
    space = get(name)
    check_budget(space, budget)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    start = time.perf_counter()
    specs = [space(study.ask(), budget) for _ in range(samples)]
    per_sample_ms = (time.perf_counter() - start) / samples * 1e3
    cxs = [complexity(s, budget.image_size) for s in specs]
    lines = [f"space {name}: {budget.describe()}"]
    if isinstance(space, CountableSpace):
        n = space.configurations(budget)
        bound = " at most" if isinstance(space, RefinedSpace) else ""  # its base's count: the ranges narrow it
        lines.append(f"  parameter settings (before budget repairs):{bound} {n:.3g} (log10 {math.log10(n):.1f})")
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
