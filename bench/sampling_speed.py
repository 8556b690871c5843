"""Sampling speed: how fast each space turns Optuna trials into valid specs within a MACs budget.

    python bench/sampling_speed.py                          # every space, both budgets, both samplers
    python bench/sampling_speed.py --spaces resnext anynet --samplers random --trials 1000

For each space, budget and sampler, ``--trials`` trials are asked of an in-memory study, the
space turns each into a spec and the study is told the spec's MACs (so TPE moves, as in
tests/spaces/test_spaces.py). Every spec is checked: a NetSpec within the budget is valid; a trial the
space cannot fit (BudgetError) is not, and lowers the valid fraction; a spec outside the budget
is a bug, and makes the script exit 1.

Where the time goes, measured apart: Optuna alone, by replaying the same trials into a fresh
study with the same sampler (the same suggest calls, names and distributions, and the same values
told, but no space); the space alone, by calling it on each trial's parameters as a FixedTrial
(whose suggest calls are dictionary look-ups). Times are CPU seconds of this process per 1,000
trials. A TPE trial costs more the more trials the study has, so TPE's rate depends on
``--tpe-trials``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from _common import table
from blocks import NetSpec, complexity
from search.study import optuna_study
from search.config.study import DEFAULT_MAX_MMACS
import spaces
from spaces import SPACES, Budget, BudgetError

BUDGETS = {  # the default study's digits budget, and a narrow CIFAR-sized band
    "digits": Budget.from_millions(8, 1, 10, max_mmacs=DEFAULT_MAX_MMACS["digits"]),
    "cifar": Budget.from_millions(32, 3, 10, min_mmacs=2.0, max_mmacs=5.0),
}
TARGET_S = 1.0  # the target: 1,000 valid specs within a tight budget in under a second (random)


@dataclass(frozen=True)
class Run:
    """One space, budget and sampler: trials, valid and wrong specs, CPU seconds (all, Optuna's)."""

    space: str
    budget: str
    sampler: str
    trials: int
    valid: int
    wrong: int
    total_s: float
    optuna_s: float
    space_s: float

    def per_1000(self, seconds: float) -> float:
        """``seconds`` (of this run's trials) scaled to 1,000 trials."""
        return seconds / self.trials * 1000

    def per_valid_1000(self, seconds: float) -> float:
        """``seconds`` scaled to 1,000 valid specs (inf if none was valid)."""
        return seconds / self.valid * 1000 if self.valid else float("inf")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/sampling_speed.py", description=__doc__.split("\n")[0])
    p.add_argument("--spaces", nargs="+", default=list(SPACES), choices=spaces.names(), help="default: all")
    p.add_argument("--budgets", nargs="+", default=list(BUDGETS), choices=list(BUDGETS), help="default: both")
    p.add_argument("--samplers", nargs="+", default=["random", "tpe"], choices=["random", "tpe"])
    p.add_argument("--trials", type=int, default=1000, help="trials per run with RandomSampler (default 1000)")
    p.add_argument("--tpe-trials", type=int, default=200, help="trials per run with TPE (default 200)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if min(args.trials, args.tpe_trials) < 1:
        p.error("--trials and --tpe-trials must be >= 1")
    return args


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """The samplers as the study makes them (TPE: multivariate, group, constant liar)."""
    return optuna_study.make_sampler(name, seed, trials=24)


def sample(
    space_name: str, budget: Budget, sampler: optuna.samplers.BaseSampler, trials: int
) -> tuple[list[FrozenTrial], int, int, float]:
    """(trials as stored, valid specs, wrong specs, CPU seconds of ask + space + tell); the
    checks are not timed."""
    space, study = spaces.get(space_name), optuna.create_study(sampler=sampler, direction="maximize")
    seconds, valid, wrong = 0.0, 0, 0
    for _ in range(trials):
        start = time.process_time()
        trial = study.ask()
        try:
            spec = space(trial, budget)
        except BudgetError:
            spec = None
        seconds += time.process_time() - start
        ok = isinstance(spec, NetSpec) and budget.fits(spec)
        valid, wrong = valid + ok, wrong + (spec is not None and not ok)
        value = complexity(spec, budget.image_size).macs if ok else None
        start = time.process_time()
        study.tell(trial, value, state=TrialState.COMPLETE if ok else TrialState.FAIL)
        seconds += time.process_time() - start
    return study.get_trials(deepcopy=False), valid, wrong, seconds


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> None:
    """The public suggest call that made ``dist`` (as the space called it)."""
    if isinstance(dist, CategoricalDistribution):
        trial.suggest_categorical(name, dist.choices)
    elif isinstance(dist, IntDistribution):
        trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    else:
        trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def replay(recorded: list[FrozenTrial], sampler: optuna.samplers.BaseSampler) -> tuple[float, bool]:
    """(CPU seconds, same params) of Optuna alone: the recorded suggest calls and values, no space."""
    study = optuna.create_study(sampler=sampler, direction="maximize")
    start = time.process_time()
    for frozen in recorded:
        trial = study.ask()
        for name, dist in frozen.distributions.items():
            suggest(trial, name, dist)
        study.tell(trial, frozen.value, state=frozen.state)
    seconds = time.process_time() - start
    same = [t.params for t in study.get_trials(deepcopy=False)] == [t.params for t in recorded]
    return seconds, same


def space_alone(recorded: list[FrozenTrial], space_name: str, budget: Budget) -> float:
    """CPU seconds of the space alone on the recorded parameters (FixedTrial: no sampler, no storage)."""
    space = spaces.get(space_name)
    start = time.process_time()
    for frozen in recorded:
        try:
            space(optuna.trial.FixedTrial(frozen.params), budget)
        except BudgetError:
            pass
    return time.process_time() - start


def run(space_name: str, budget_name: str, sampler_name: str, trials: int, seed: int) -> Run:
    budget = BUDGETS[budget_name]
    recorded, valid, wrong, total = sample(space_name, budget, make_sampler(sampler_name, seed), trials)
    optuna_s, same = replay(recorded, make_sampler(sampler_name, seed))
    space_s = space_alone(recorded, space_name, budget)
    if not same:  # the split would compare different trials
        print(f"warning: {space_name}/{budget_name}/{sampler_name}: the replay drew other params", file=sys.stderr)
    return Run(space_name, budget_name, sampler_name, trials, valid, wrong, total, optuna_s, space_s)


def report(runs: list[Run]) -> str:
    lines = [table([{
        "space": r.space, "budget": r.budget, "sampler": r.sampler, "trials": r.trials,
        "valid": f"{r.valid / r.trials:.1%}", "s/1000": f"{r.per_1000(r.total_s):.2f}",
        "optuna": f"{r.per_1000(r.optuna_s):.2f}", "space s": f"{r.per_1000(r.space_s):.2f}",
        "optuna share": f"{r.optuna_s / (r.optuna_s + r.space_s):.0%}",
    } for r in runs])]
    random = [r for r in runs if r.sampler == "random"]
    if random:
        met = [r for r in random if r.per_valid_1000(r.total_s) < TARGET_S]
        worst = max(random, key=lambda r: r.per_valid_1000(r.total_s))
        lines.append(
            f"RandomSampler: 1,000 valid specs in under {TARGET_S:g} s in {len(met)} of {len(random)} runs; slowest "
            f"{worst.space}/{worst.budget}: {worst.per_valid_1000(worst.total_s):.2f} s, of which Optuna alone "
            f"{worst.per_valid_1000(worst.optuna_s):.2f} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = [
        run(space, budget, sampler, args.trials if sampler == "random" else args.tpe_trials, args.seed)
        for sampler in args.samplers
        for budget in args.budgets
        for space in args.spaces
    ]
    print("CPU seconds per 1,000 trials: all (ask + space + tell), Optuna alone (replayed, no space), "
          "the space alone (FixedTrial)")
    print(report(runs))
    wrong = [f"{r.space}/{r.budget}/{r.sampler}: {r.wrong}" for r in runs if r.wrong]
    if wrong:
        print(f"specs outside the budget: {', '.join(wrong)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
