"""Search efficiency: best accuracy and accuracy-MACs hypervolume against the trial-epochs spent,
for the default search (TPE, ASHA, stopped trials PRUNED), random search without early stopping
(FIFO) and stock OptunaSearch (TPE, ASHA, stopped trials COMPLETE), over several seeds.

    python bench/search_efficiency.py                                      # digits, 3 seeds
    python bench/search_efficiency.py --dataset cifar --cifar /tmp/cifar/cifar10
    python bench/search_efficiency.py --seeds 1 --budget 12 --epochs 3     # a smoke run

Each arm and seed is a real study (``python -m search.run`` in a subprocess), stopped with
Ctrl-C once its finished trials have spent the budget of trial-epochs (the TPE arms, run with
``--budget-epochs``, mostly stop by themselves), then cut at exactly that budget. Per-run curves
go to ``<workdir>/curves-<dataset>.csv``; bench/README-search-efficiency.md says what is
measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import CIFAR_ARCHIVE, cifar_subset_dir, hypervolume
from search import results

ROOT = Path(__file__).resolve().parent.parent

ARMS = {
    "default": ["--sampler", "tpe", "--scheduler", "asha", "--stopped-as", "pruned"],
    "random": ["--sampler", "random", "--scheduler", "fifo"],
    "stock": ["--sampler", "tpe", "--scheduler", "asha", "--stopped-as", "complete"],
}
BUDGET_MMACS = {"digits": 2.0, "cifar": 2.0}  # resnext at 32px cannot always fit 1 MMACs
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
TARGET = 0.5  # the default should reach random search's final result with at most this share of its trial-epochs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = p.add_argument
    add("--dataset", choices=sorted(BUDGET_MMACS), default="digits", help="digits (embedded) or a CIFAR-10 subset")
    add("--seeds", type=int, default=3, help="seeds 0..N-1 of every arm (default 3)")
    add("--budget", type=int, default=120, help="trial-epochs each run may spend (default 120)")
    add("--epochs", type=int, default=6, help="epoch budget of one trial (default 6)")
    add("--arms", default=",".join(ARMS), help=f"comma list of {', '.join(ARMS)} (default all)")
    add("--count", choices=["full", "all"], default="full",
        help="which trials count for accuracy and hypervolume: full = those that ran every epoch (default), "
             "all = early-stopped ones too, with their best accuracy so far")
    add("--max-concurrent", type=int, default=2, help="trials at once in each study (default 2)")
    add("--workdir", type=Path, help="where studies, data and curves go (default: a new temp folder)")
    add("--reuse", action="store_true",
        help="keep the runs already in --workdir and run only the missing ones (delete a run's folder to redo it)")
    add("--cifar", type=Path, default=CIFAR_ARCHIVE,
        help="CIFAR-10 JPEG archive, or its extracted folder with train/ and test/")
    add("--cifar-train", type=int, default=400, help="train images per class in the CIFAR-10 subset (default 400)")
    add("--cifar-test", type=int, default=100, help="test images per class in the CIFAR-10 subset (default 100)")
    add("--budget-mmacs", type=float, help="MACs cap of a network in millions (default 2)")
    add("--batch-size", type=int, help="training batch size (default: the study's)")
    add("--lr", type=float, help="peak learning rate (default: the study's)")
    args = p.parse_args(argv)
    args.budget_mmacs = args.budget_mmacs or BUDGET_MMACS[args.dataset]
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not args.arms or set(args.arms) - set(ARMS):
        p.error(f"--arms: choose from {', '.join(ARMS)}")
    if args.seeds < 1 or args.epochs < 1 or args.budget < args.epochs:
        p.error("--seeds and --epochs must be >= 1, and --budget >= --epochs")
    return args


def spent(study: Path) -> int:
    """Trial-epochs of the study's finished trials (0 before its first table)."""
    try:
        df = pd.read_parquet(study / "trials.parquet", columns=["state", "epochs"])
    except (OSError, ValueError):
        return 0
    return int(df.loc[df["state"].isin(FINISHED), "epochs"].fillna(0).sum())


def run_study(argv: list[str], study: Path, budget: int, log: Path) -> int:
    """Run one study; Ctrl-C it once its finished trials have spent ``budget`` (none finishing later can count)."""
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "search.run", *argv], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while proc.poll() is None and spent(study) < budget:
                time.sleep(1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the driver and its Ray processes
            return proc.wait(timeout=300)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise


def study_argv(args: argparse.Namespace, arm: str, seed: int, results_dir: Path, data: list[str]) -> list[str]:
    # Random search runs exactly the budget. The others run as a user's `--budget-epochs` study (what the
    # budget buys shapes TPE's start-up trials and the queued hand designs, as in the replay's arms); an ASHA
    # trial costs at least one epoch, so `budget` trials always suffice.
    trials = args.budget // args.epochs if arm == "random" else args.budget
    budgeted = [] if arm == "random" else ["--budget-epochs", str(args.budget)]
    training = [f for flag, value in (("--batch-size", args.batch_size), ("--lr", args.lr)) if value
                for f in (flag, str(value))]
    return ["--space", "resnext", *data, *ARMS[arm], *training, *budgeted, "--trials", str(trials),
            "--epochs", str(args.epochs), "--seed", str(seed), "--max-concurrent", str(args.max_concurrent), "--results-dir", str(results_dir),
            "--name", f"{arm}-s{seed}"]


def curve(df: pd.DataFrame, budget: int, epochs: int, max_macs: float, count: str) -> pd.DataFrame:
    """Finished trials in completion order, cut at ``budget`` trial-epochs: the trial-epochs spent,
    best accuracy so far and hypervolume so far (accuracy maximised, MACs / max_macs minimised)."""
    done = df[df["state"].isin(FINISHED)].sort_values("datetime_complete")
    done = done.assign(spent=done["epochs"].fillna(0).astype(int).cumsum())
    done = done[done["spent"] <= budget].reset_index(drop=True)
    counted = (done["state"] != "FAIL") & done["accuracy"].notna()
    if count == "full":
        counted &= done["epochs"] == epochs
    accuracy = done["accuracy"].where(counted)
    losses = np.column_stack([-accuracy.fillna(0).to_numpy(float), done["macs"].to_numpy(float) / max_macs])
    mask = counted.to_numpy(bool)
    hv = [hypervolume(losses[: i + 1][mask[: i + 1]], (0.0, 1.0)) for i in range(len(done))]
    return pd.DataFrame({
        "trial": done["trial"], "state": done["state"], "epochs": done["epochs"], "spent": done["spent"],
        "accuracy": done["accuracy"], "macs": done["macs"], "counted": counted,
        "best": accuracy.cummax().ffill(), "hypervolume": hv,
    })


def per_run(curves: pd.DataFrame, seconds: dict[tuple[str, int], float]) -> pd.DataFrame:
    """One row per arm and seed: best accuracy and hypervolume at the budget, trial-epochs to
    first reach random search's final best accuracy (mean over its seeds; inf if never)."""
    runs = curves.groupby(["arm", "seed"]).agg(best=("best", "max"), hypervolume=("hypervolume", "max"),
                                               trials=("trial", "size"))
    runs["best"] = runs["best"].fillna(0.0)
    runs["minutes"] = [seconds[key] / 60 for key in runs.index]
    threshold = runs.loc["random", "best"].mean() if "random" in runs.index.get_level_values(0) else np.nan
    reached = curves[curves["best"] >= threshold - 1e-9].groupby(["arm", "seed"])["spent"].min()
    runs["to_reach"] = reached.reindex(runs.index).astype(float).fillna(np.nan if np.isnan(threshold) else np.inf)
    runs.attrs["threshold"] = threshold
    return runs


def summary(runs: pd.DataFrame, budget: int) -> tuple[pd.DataFrame, str]:
    """The table by arm, and the verdict on the target."""
    def mean_std(column: pd.Series) -> str:
        return f"{column.mean():.4f} ± {column.std():.4f}"  # sample std over seeds: nan for one seed

    need = {arm: float(np.median(group["to_reach"])) for arm, group in runs.groupby(level="arm")}
    # Random search's final result is what it holds at the budget: its own need is at most `budget`
    # (seeds that end below the mean over seeds never reach it and would make the median infinite).
    random_need = min(budget, need["random"]) if "random" in need else np.nan
    rows = []
    for arm, group in runs.groupby(level="arm", sort=False):
        reached = np.isfinite(group["to_reach"])
        rows.append({
            "arm": arm, "seeds": len(group), "trials": f"{group['trials'].mean():.1f}",
            f"best acc at {budget}": mean_std(group["best"]), f"HV at {budget}": mean_std(group["hypervolume"]),
            "epochs to reach": epochs_text(need[arm]),
            "reached": f"{int(reached.sum())}/{len(group)}",
            "x random": f"{ratio:.2f}" if np.isfinite(ratio := need[arm] / random_need) else "-",
            "minutes": f"{group['minutes'].mean():.1f}",
        })
    return pd.DataFrame(rows), verdict(need.get("default", np.nan), random_need)


def epochs_text(value: float) -> str:
    """Trial-epochs as printed: NaN = no threshold (no random arm), inf = not reached within the budget."""
    return "-" if np.isnan(value) else "not reached" if np.isinf(value) else f"{value:.0f}"


def verdict(default_need: float, random_need: float) -> str:
    if np.isnan(random_need) or np.isnan(default_need):
        return "target: not evaluated (needs the default and random arms)"
    ok = default_need <= TARGET * random_need
    return (f"target {'MET' if ok else 'NOT MET'}: the default needs {epochs_text(default_need)} trial-epochs "
            f"(median over seeds) to reach random search's final best accuracy, random {random_need:.0f}; "
            f"target <= {TARGET:g} x random")


def dataset_flags(args: argparse.Namespace, workdir: Path) -> list[str]:
    mmacs = ["--budget-mmacs", f"{args.budget_mmacs:g}"]
    if args.dataset == "digits":
        return ["--dataset", "digits", *mmacs]
    subset = cifar_subset_dir(args.cifar_train, args.cifar_test, workdir, args.cifar)
    return ["--dataset", f"imagefolder:{subset}", "--data-dir", str(workdir / "data"), *mmacs]


def run_all(args: argparse.Namespace, workdir: Path) -> tuple[pd.DataFrame, dict[tuple[str, int], float]]:
    """Every arm and seed as a study; their curves (cut at the budget) and run times."""
    data, results_dir, start = dataset_flags(args, workdir), workdir / args.dataset, time.monotonic()
    max_macs, parts, seconds = args.budget_mmacs * 1e6, [], {}
    for seed, arm in itertools.product(range(args.seeds), args.arms):  # seeds outer: every arm of seed 0 comes first
        name, began = f"{arm}-s{seed}", time.monotonic()
        (results_dir / "logs").mkdir(parents=True, exist_ok=True)
        log = results_dir / "logs" / f"{name}.log"
        if not (args.reuse and (results_dir / name / "trials.parquet").exists()):
            rc = run_study(study_argv(args, arm, seed, results_dir, data), results_dir / name, args.budget, log)
            if rc not in (0, 130):  # 130: stopped by our Ctrl-C at the budget
                tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
                raise SystemExit(f"{name}: search.run exited with {rc}; last lines of {log}:\n{tail}")
        table = results.load(results_dir / name)
        seconds[(arm, seed)] = time.monotonic() - began if not args.reuse else span_seconds(table)
        part = curve(table, args.budget, args.epochs, max_macs, args.count)
        parts.append(part.assign(dataset=args.dataset, arm=arm, seed=seed))
        print(progress_line(args, arm, seed, part, seconds[(arm, seed)], time.monotonic() - start), flush=True)
    return pd.concat(parts, ignore_index=True), seconds


def span_seconds(table: pd.DataFrame) -> float:
    """First trial's start to last trial's end: the run time of a reused run (Ray's start-up not included)."""
    return float((table["datetime_complete"].max() - table["datetime_start"].min()).total_seconds())


def progress_line(args: argparse.Namespace, arm: str, seed: int, part: pd.DataFrame, took: float, elapsed: float) -> str:
    states = ", ".join(f"{n} {state.lower()}" for state, n in part["state"].value_counts().items())
    return (f"[{elapsed / 60:5.1f} min] {args.dataset} {arm:7s} seed {seed}: {len(part)} trials within "
            f"{args.budget} trial-epochs ({states}), best accuracy {part['best'].max():.4f}, "
            f"hypervolume {part['hypervolume'].max():.4f}, {took:.0f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="search-efficiency-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"search efficiency on {args.dataset}: arms {', '.join(args.arms)}, {args.seeds} seed(s), "
          f"{args.budget} trial-epochs per run, {args.epochs} epochs per trial; workdir {workdir}", flush=True)
    curves, seconds = run_all(args, workdir)
    curves.to_csv(workdir / f"curves-{args.dataset}.csv", index=False)
    runs = per_run(curves, seconds)
    runs.to_csv(workdir / f"runs-{args.dataset}.csv")
    table, line = summary(runs, args.budget)
    print(f"\n{args.dataset}: threshold = random search's final best accuracy, mean over seeds: "
          f"{runs.attrs['threshold']:.4f}; trials counted: {args.count}")
    print(table.to_string(index=False))
    print(line)
    print(f"curves: {workdir / f'curves-{args.dataset}.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
