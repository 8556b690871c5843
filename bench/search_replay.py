"""Search arms compared on a recorded pool, over many seeds (``search.study.replay``).

    .venv/bin/python bench/search_replay.py record STUDY_DIR|POOL.csv [...] [--out bench/pool/NAME.csv]
    .venv/bin/python bench/search_replay.py faithfulness [--real STUDY_DIR ...]
    .venv/bin/python bench/search_replay.py compare [--seeds 20 --budget 120 --arms default,random]
    .venv/bin/python bench/search_replay.py schedules [--seeds 20]

``record`` turns studies of random samples trained to the end (``--sampler random --scheduler
fifo``), and pool files recorded from such studies before, into one pool file. ``faithfulness``
measures the nearest-entry rule: each pool entry against its nearest other entry
(leave-one-out), and real trials of other studies against the pool entry the replay would give
them. ``compare`` replays each arm, shaped as ``--budget-epochs BUDGET`` shapes a study (TPE's
start-up trials, the queued hand designs), with seeds 0..N-1 (the recording studies' seeds are
skipped) until the trials have spent twice ``--budget`` trial-epochs and reports, at
``--budget``: median best validation accuracy of complete trials with a 95% bootstrap interval,
the trial-epochs each arm needs to reach random search's median final best (as a share of the
budget), a one-sided Mann-Whitney test of the first arm against ``random``, and for Pareto arms
the accuracy-MACs hypervolume. ``schedules`` does the same over ASHA settings of the default
sampler.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from _common import hypervolume, machine

import spaces
from spaces import designs

from search.study import optuna_study
from search import results
from search.config.study import StudyConfig
from search.study.pool import Pool, leave_one_out
from search.study.replay import best_at, replay, spent_to_reach
from search.study.warm_start import design_queue
from search.config.schedule import ScheduleConfig
from search.config.train import TrainConfig

POOL = Path(__file__).resolve().parent / "pool" / "resnext-cifar400-e6.csv"
FIFO = {"schedule": ScheduleConfig(scheduler="fifo")}
ARMS = {  # StudyConfig fields of each arm; the rest are the study defaults (TPE, ASHA, stopped = pruned)
    "default": {},
    "tpe+asha no designs": {"start_from": "none"},  # the default without its hand designs queued first
    "random": {"sampler": "random", **FIFO},
    "random+asha": {"sampler": "random"},
    "tpe+fifo": FIFO,
    "tpe stopped=complete": {"schedule": ScheduleConfig(stopped_as="complete")},
    "gp+asha": {"sampler": "gp"},
    "gp+fifo": {"sampler": "gp", **FIFO},
    "nsga2+asha": {"sampler": "nsga2"},
    "qmc+asha": {"sampler": "qmc"},
    "pareto default": {"objectives": ("accuracy", "macs")},
    "pareto random": {"objectives": ("accuracy", "macs"), "sampler": "random", **FIFO},
    "pareto nsga2+asha": {"objectives": ("accuracy", "macs"), "sampler": "nsga2"},
}


def base_config(pool: Pool) -> StudyConfig:
    """The recording study's data, budget and training, with the search settings of a new
    study's defaults (the recording's own were random and FIFO)."""
    recorded, default = StudyConfig.from_json(json.dumps(pool.provenance["config"])), StudyConfig()
    search = ("sampler", "schedule", "objectives", "start_from")
    return replace(recorded, name="replay", results_dir="/nonexistent", storage=None, warm_start=(), repeats=1,
                   **{name: getattr(default, name) for name in search})


def budgeted(config: StudyConfig, budget: int) -> StudyConfig:
    """``config`` as the study ``--budget-epochs budget`` would run: the trials that budget
    buys under its schedule set TPE's start-up trials and whether hand designs are queued. The
    budget itself stays 0: a replay runs on past it (to twice) and reads each arm at it."""
    return replace(config, trials=replace(config, trials=10**6, budget_epochs=budget).expected_trials, budget_epochs=0)


def run_arm(pool: Pool, fields: dict, seeds: list[int], budget: int) -> list[pd.DataFrame]:
    base = base_config(pool)
    out = []
    for seed in seeds:
        config = budgeted(replace(base, seed=seed, train=replace(base.train, seed=seed), **fields), budget)
        out.append(replay(config, pool, 2 * budget))
    return out


def seeds_for(pool: Pool, count: int) -> list[int]:
    own = set(pool.seeds)  # a recording study's seed would replay its own samples exactly
    return [s for s in range(count + len(own)) if s not in own][:count]


def interval(values: np.ndarray) -> str:
    from scipy import stats

    values = np.asarray(values, dtype=float)
    ci = stats.bootstrap((values,), np.median, confidence_level=0.95, method="percentile", random_state=0).confidence_interval
    return f"{np.median(values):.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def hypervolume_at(trials: pd.DataFrame, spent: int, max_macs: float) -> float:
    """Accuracy-MACs hypervolume of complete trials finished by ``spent`` (error and MACs as a
    share of the budget, up to chance error 0.9 and the full budget)."""
    done = trials[(trials["state"] == "COMPLETE") & (trials["spent"] <= spent)]
    if not len(done):
        return 0.0
    losses = np.stack([1 - done["accuracy"].to_numpy(), done["macs"].to_numpy() / max_macs], axis=1)
    return hypervolume(losses, [0.9, 1.0])


def compare(pool: Pool, arms: list[str], seeds: list[int], budget: int, label: str = "arm") -> pd.DataFrame:
    from scipy import stats

    runs, started = {}, time.perf_counter()
    for arm in arms:
        runs[arm] = run_arm(pool, ARMS[arm] if arm in ARMS else schedule(arm), seeds, budget)
        print(f"  {arm}: {len(seeds)} replays, {time.perf_counter() - started:.0f} s so far", file=sys.stderr, flush=True)
    max_macs = base_config(pool).max_mmacs * 1e6
    rows = []
    for arm, traces in runs.items():
        reference = _reference(arm, runs)
        ref_best = np.array([best_at(t, budget) for t in runs[reference]])
        target = float(np.median(ref_best))  # random search's final best, median over its seeds
        best = np.array([best_at(t, budget) for t in traces])
        share = np.array([min(spent_to_reach(t, target), 2 * budget) / budget for t in traces])
        hv = np.array([hypervolume_at(t, budget, max_macs) for t in traces])
        ref_hv = np.array([hypervolume_at(t, budget, max_macs) for t in runs[reference]])
        rows.append({label: arm, "against": reference, "best at budget": interval(best),
                     "share to reach its best": interval(share),
                     "p best >": "" if arm == reference else f"{stats.mannwhitneyu(best, ref_best, alternative='greater').pvalue:.3g}",
                     "hypervolume": interval(hv),
                     "p hv >": "" if arm == reference else f"{stats.mannwhitneyu(hv, ref_hv, alternative='greater').pvalue:.3g}",
                     "complete": f"{np.median([((t['state'] == 'COMPLETE') & (t['spent'] <= budget)).sum() for t in traces]):.0f}",
                     "trials": f"{np.median([(t['spent'] <= budget).sum() for t in traces]):.0f}"})
    return pd.DataFrame(rows)


def _reference(arm: str, runs: dict) -> str:
    """What an arm is compared with: random search of the same objectives, else the first arm."""
    wanted = "pareto random" if arm.startswith("pareto") else "random"
    return wanted if wanted in runs else next(iter(runs))


def schedule(name: str) -> dict:
    """'asha g1 r3 b1' -> grace period 1, reduction factor 3, 1 bracket; 'fifo' -> no stopping."""
    if name == "fifo":
        return FIFO
    grace, rf, brackets = (part[1:] for part in name.split()[1:])
    return {"schedule": ScheduleConfig(grace_period=int(grace), reduction_factor=float(rf), brackets=int(brackets))}


def missing_designs(pool: Pool, budget: int) -> None:
    """Say which hand designs an arm that queues them (the default) would replay with a stand-in:
    those the pool did not record (``record RANDOM_STUDY HAND_STUDY`` records them)."""
    config = budgeted(base_config(pool), budget)
    fitted = config.budget(pool.image_size, 3, 10)
    queued = {q.user_attrs["design"] for q in design_queue(config, spaces.get(config.space), fitted)}
    absent = [d.name for d in designs.get("hand") if d.name in queued and pool.nearest(d.spec(fitted)).spec != d.spec(fitted)]
    if absent:
        print(f"note: the pool holds no entry for hand design(s) {', '.join(absent)}: the default arm, which "
              "queues them, replays the nearest entry instead", flush=True)


def faithfulness(pool: Pool, real: list[Path]) -> None:
    from scipy import stats

    loo = leave_one_out(pool)
    for what in ("final", "first"):
        rho = stats.spearmanr(loo[what], loo[f"{what}_replayed"]).statistic
        mae = (loo[what] - loo[f"{what}_replayed"]).abs().mean()
        print(f"leave-one-out, {what}-epoch validation accuracy ({len(loo)} entries): Spearman {rho:.3f}, "
              f"mean absolute error {mae:.4f}")
    everything = []
    for study in real:
        trials, epochs = results.load(study), results.load_epochs(study)
        rows = []
        for row in trials[trials["state"].isin(["COMPLETE", "PRUNED"])].itertuples():
            from blocks import NetSpec

            entry = pool.nearest(NetSpec.from_json(row.arch))
            curve = epochs[epochs["trial"] == row.trial].sort_values("epoch")["val_accuracy"].to_numpy()
            for k, real_value in enumerate(curve, start=1):
                rows.append({"trial": row.trial, "epoch": k, "real": real_value, "replayed": entry.curve[k - 1]})
        df = pd.DataFrame(rows)
        if len(df) < 3:
            print(f"{study}: fewer than 3 epochs to compare")
            continue
        last = df.sort_values("epoch").groupby("trial").tail(1)
        everything.append(last)
        rho = stats.spearmanr(last["real"], last["replayed"]).statistic
        print(f"{study.name}: {last['trial'].nunique()} real trials, each at its last epoch against the replayed entry "
              f"at that epoch: Spearman {rho:.3f}, mean absolute error {(last['real'] - last['replayed']).abs().mean():.4f}, "
              f"mean real - replayed {(last['real'] - last['replayed']).mean():+.4f}")
    if everything:
        last = pd.concat(everything)
        rho = stats.spearmanr(last["real"], last["replayed"]).statistic
        print(f"all {len(last)} real trials of {len(real)} studies: Spearman {rho:.3f}, mean absolute error "
              f"{(last['real'] - last['replayed']).abs().mean():.4f}, mean real - replayed "
              f"{(last['real'] - last['replayed']).mean():+.4f}")
        full = last[last["epoch"] == pool.epochs]
        if len(full) > 2:
            print(f"  of which the {len(full)} that ran all {pool.epochs} epochs: Spearman "
                  f"{stats.spearmanr(full['real'], full['replayed']).statistic:.3f}, mean absolute error "
                  f"{(full['real'] - full['replayed']).abs().mean():.4f}")


def record(sources: list[Path], out: Path, image_size: int) -> None:
    """Study folders (recorded now) and pool files (recorded before, e.g. in another session)
    joined into one pool file."""
    dated = {"recorded": datetime.date.today().isoformat(), "machine": machine()}
    parts = []
    for source in sources:
        if source.suffix == ".csv":
            parts.append(Pool.load(source))
        else:
            part = Pool.from_study(source, image_size)
            parts.append(Pool(part.entries, image_size, {**part.provenance, **dated}))
    pool = Pool.join(parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    pool.save(out)
    finals = [e.curve[-1] for e in pool.entries]
    print(f"{out}: {len(pool.entries)} entries, {pool.epochs} epochs; final validation accuracy "
          f"{min(finals):.3f}..{max(finals):.3f} (median {np.median(finals):.3f}); {out.stat().st_size / 1e3:.0f} kB")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/search_replay.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record")
    r.add_argument("study", type=Path, nargs="+", help="studies recorded alike (random samples, then "
                   "--start-from hand on the same protocol for the default's queued designs), or pool "
                   "files (.csv) recorded from such studies before")
    r.add_argument("--out", type=Path, default=POOL)
    r.add_argument("--image-size", type=int, default=32)
    f = sub.add_parser("faithfulness")
    f.add_argument("--real", type=Path, nargs="*", default=[])
    for name, default_arms in (("compare", "default,random,random+asha,tpe+fifo"), ("schedules", "")):
        c = sub.add_parser(name)
        c.add_argument("--seeds", type=int, default=20)
        c.add_argument("--budget", type=int, default=120, help="trial-epochs at which arms are compared")
        c.add_argument("--arms", default=default_arms)
    for q in sub.choices.values():
        if q.prog.split()[-1] != "record":
            q.add_argument("--pool", type=Path, default=POOL)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    optuna_study.quiet()
    if args.command == "record":
        try:
            record(args.study, args.out, args.image_size)
        except ValueError as error:  # parts recorded otherwise, or a trial twice: nothing written
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    pool = Pool.load(args.pool)
    if args.command != "faithfulness" and args.budget < pool.epochs:
        print(f"error: --budget {args.budget} trial-epochs cannot train one of the pool's {pool.epochs}-epoch trials",
              file=sys.stderr)
        return 2
    print(f"{machine()}; pool {args.pool.name}: {len(pool.entries)} entries, {pool.epochs} epochs", flush=True)
    if args.command == "faithfulness":
        faithfulness(pool, args.real)
        return 0
    seeds = seeds_for(pool, args.seeds)
    missing_designs(pool, args.budget)
    if args.command == "schedules":
        arms = [a for a in args.arms.split(",") if a] or ["fifo"] + [
            f"asha g{g} r{r} b{b}" for g in (1, 2) for r in (2, 3, 4) for b in (1, 3)]
        print(compare(pool, arms, seeds, args.budget, "schedule (TPE)").to_string(index=False))
    else:
        print(compare(pool, args.arms.split(","), seeds, args.budget).to_string(index=False))
    print(f"seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), budget {args.budget} trial-epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
