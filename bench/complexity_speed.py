"""Analytic complexity against torch's FlopCounterMode: the same counts, how much faster.

    python bench/complexity_speed.py                  # 3 presets at 224px + 8 sampled specs
    python bench/complexity_speed.py --repeats 9 --calls 2000

For each spec, ``blocks.complexity`` (called ``--calls`` times in a loop, per-call time) is timed
against FlopCounterMode counting a batch-1 forward of ``blocks.build(spec)``, two ways: (a) on
the CPU, (b) on the ``meta`` device (no data, no arithmetic: the fastest exact way torch has).
Both FlopCounterMode times include building the network, since that is what a count from a spec
costs. Each time is the median of ``--repeats``, in CPU seconds of this process, with torch on
one thread. The MACs must equal FlopCounterMode's total / 2 and the params the built network's,
on both devices (as tests/blocks/test_complexity.py checks them), or the script exits 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

import optuna
import torch
from torch.utils.flop_counter import FlopCounterMode

from _common import table
from blocks import NetSpec, build, complexity, presets
from search.config.study import DEFAULT_MAX_MMACS
import spaces
from spaces import Budget

PRESETS = ("resnet18", "resnet50", "resnext50_32x4d")
SAMPLED_SPACES = ("resnext_v1", "resnext", "anynet")  # the old default, today's, AnyNetX
BUDGETS = {  # the default study's digits budget, and tests/spaces/test_spaces.py's CIFAR-sized one
    "digits": Budget.from_millions(8, 1, 10, max_mmacs=DEFAULT_MAX_MMACS["digits"]),
    "cifar": Budget.from_millions(32, 3, 10, min_mmacs=5.0, max_mmacs=50.0),
}


@dataclass(frozen=True)
class Case:
    """One spec to count, with the image size it is counted at."""

    name: str
    spec: NetSpec
    image_size: int


@dataclass(frozen=True)
class Row:
    """Counts and median times of one case; ``equal`` is False if any count disagrees."""

    case: Case
    params: int
    macs: int
    analytic_s: float
    cpu_s: float
    meta_s: float
    equal: bool


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/complexity_speed.py", description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per measure; the median is shown (default 5)")
    p.add_argument("--calls", type=int, default=1000, help="complexity() calls per timed repeat (default 1000)")
    p.add_argument("--samples", type=int, default=2, help="specs per sampled space and budget (default 2)")
    p.add_argument("--seed", type=int, default=0, help="RandomSampler seed for the sampled specs (default 0)")
    args = p.parse_args(argv)
    if min(args.repeats, args.calls, args.samples) < 1:
        p.error("--repeats, --calls and --samples must be >= 1")
    return args


def cases(samples: int, seed: int) -> list[Case]:
    """The presets at 224px (1000 classes), then ``samples`` random specs per space and budget."""
    out = [Case(name, presets.PRESETS[name](), 224) for name in PRESETS]
    for space_name in SAMPLED_SPACES:
        for budget_name, budget in BUDGETS.items():
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
            for i in range(samples):
                spec = spaces.get(space_name)(study.ask(), budget)
                out.append(Case(f"{space_name}-{budget_name}-{i}", spec, budget.image_size))
    return out


def seconds_per_call(fn: Callable[[], object], calls: int = 1) -> float:
    """CPU seconds per call of ``calls`` back-to-back calls of ``fn``.

    CPU time of the process, not wall time: on a shared machine wall time also counts other
    processes' time slices."""
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def flop_count(case: Case, device: str) -> tuple[int, int]:
    """(params, flops) of ``build(spec)`` on ``device``, counted over a batch-1 forward."""
    spec, size = case.spec, case.image_size
    with torch.device(device):
        net = build(spec).eval()
        x = torch.randn(1, spec.in_channels, size, size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return sum(p.numel() for p in net.parameters()), counter.get_total_flops()


def measure(case: Case, repeats: int, calls: int) -> Row:
    """Counts and times of one case; equality as tests/blocks/test_complexity.py checks it."""
    cx = complexity(case.spec, case.image_size)
    counts = [flop_count(case, device) for device in ("cpu", "meta")]
    equal = all(params == cx.params and flops % 2 == 0 and flops // 2 == cx.macs for params, flops in counts)
    times = [  # interleaved, so that all three measures see the same load on a shared machine
        (
            seconds_per_call(lambda: complexity(case.spec, case.image_size), calls),
            seconds_per_call(lambda: flop_count(case, "cpu")),
            seconds_per_call(lambda: flop_count(case, "meta")),
        )
        for _ in range(repeats)
    ]
    analytic, cpu, meta = (statistics.median(column) for column in zip(*times))
    return Row(case, cx.params, cx.macs, analytic, cpu, meta, equal)


def report(rows: list[Row]) -> str:
    lines = [table([{
        "spec": r.case.name, "px": r.case.image_size, "params": f"{r.params:,}", "MACs": f"{r.macs:,}",
        "cx us/call": f"{r.analytic_s * 1e6:.1f}", "cpu ms": f"{r.cpu_s * 1e3:.1f}", "meta ms": f"{r.meta_s * 1e3:.1f}",
        "cpu x": f"{r.cpu_s / r.analytic_s:,.0f}", "meta x": f"{r.meta_s / r.analytic_s:,.0f}",
        "equal": "yes" if r.equal else "NO",
    } for r in rows])]
    cpu = min(r.cpu_s / r.analytic_s for r in rows)
    meta = min(r.meta_s / r.analytic_s for r in rows)
    lines.append(f"minimum ratio: {cpu:,.0f}x vs FlopCounterMode on CPU, {meta:,.0f}x vs on meta "
                 f"(target 1,000x); counts equal in {sum(r.equal for r in rows)} of {len(rows)} specs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)  # so that CPU time is a forward's time on an idle machine (threads add up)
    specs = cases(args.samples, args.seed)
    flop_count(specs[-1], "cpu")  # warm-up: the first FlopCounterMode forward pays one-off costs
    rows = [measure(case, args.repeats, args.calls) for case in specs]
    print(f"torch {torch.__version__}, 1 thread; CPU time, median of {args.repeats} repeats, "
          f"complexity() x{args.calls} per repeat; FlopCounterMode times include build()")
    print(report(rows))
    return 0 if all(r.equal for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
