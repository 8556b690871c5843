"""``python -m search.retrain STUDY [--top K | --pareto | --trials N ...] --seeds S --epochs E``:
retrain a study's finalists from their specs with S seeds at E epochs, through the same Ray
scheduling, as a study of its own in ``<study>/retrain/`` (resumable: run the same command
again). Writes ``<study>/retrain.parquet`` (one row per finalist and seed), keeps every trained
network (``<study>/retrain/models/NNNNN.pt`` + ``.json``), and prints each finalist's mean test
accuracy with a 95% confidence interval and the rank agreement (Kendall's tau) between the
search's accuracy and the retrained one."""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from dataclasses import dataclass, replace
from typing import Any
from pathlib import Path

import pandas as pd

from blocks import NetSpec

from search.core import io
from search.results import schema
from search.results import tables as results
from search.results.analysis import mean_interval, best, pareto
from search.cli import OneLineParser, run_main
from search.config.flags import add_flags, given
from search.config.schedule import ScheduleConfig
from search.core.errors import require_int
from search.config.study import StudyConfig
from search.training.plan import QueuedTrial

RUNTIME = {"resources", "address", "storage_path", "results_dir"}  # the flags a retraining takes from the study


@dataclass(frozen=True)
class FinalistSpace:
    """A space of the finalists' fixed specs: which finalist, and which of its seeds."""

    specs: dict[int, NetSpec]  # search trial number -> spec
    seeds: int

    def __call__(self, trial, budget) -> NetSpec:  # an Optuna trial (spaces take it as the define-by-run API)
        trial.suggest_int("seed_index", 0, self.seeds - 1)
        return self.specs[trial.suggest_categorical("finalist", sorted(self.specs))]


def parse(argv: list[str] | None):
    p = OneLineParser(prog="python -m search.retrain", description=__doc__)
    p.add_argument("study", help="a study folder, or a study name under --results-dir")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--top", type=int, help="the K most accurate complete trials (default 3)")
    pick.add_argument("--pareto", action="store_true", help="the accuracy-MACs Pareto front")
    pick.add_argument("--trials", type=int, nargs="+", help="these trial numbers")
    p.add_argument("--seeds", type=int, default=3, help="seeds per finalist (default 3)")
    p.add_argument("--epochs", type=int, required=True, help="epochs of each retraining")
    p.add_argument("--export", choices=["onnx"], help="also write each network as ONNX (needs the onnx package)")
    add_flags(p, StudyConfig, only=RUNTIME, default="the study's")  # where and how the retraining runs
    return p.parse_args(argv)


def finalists(table: pd.DataFrame, args) -> list[int]:
    done = table[table["state"] == "COMPLETE"]
    if done.empty:
        raise ValueError(f"{args.study}: no complete trial to retrain yet")
    if args.trials:
        unknown = sorted(set(args.trials) - set(table["trial"]))
        if unknown:
            raise ValueError(f"--trials: the study has no trial {unknown[0]} (it has 0..{int(table['trial'].max())})")
        return sorted(set(args.trials))
    chosen = pareto(done, ("accuracy", "macs")) if args.pareto else best(done, args.top or 3)
    return sorted(int(n) for n in chosen["trial"])  # plain ints: they become Optuna choices


def retrain_config(parent: StudyConfig, study_dir: Path, runtime: dict[str, Any], count: int, epochs: int) -> StudyConfig:
    """The retraining as a study of its own in ``<study>/retrain``: the finalists' fixed specs,
    each seed run to the end, with the study's data and training settings."""
    # the retraining's own checkpoints and networks go where the study's trials went: <that>/retrain
    shared = runtime.get("storage_path") or (parent.trial_root() if parent.storage_path else None)
    resources = replace(parent.resources, **runtime.get("resources", {}))
    return replace(parent, space="retrain", name="retrain", results_dir=str(study_dir), trials=count, sampler="random",
                   schedule=ScheduleConfig(scheduler="fifo"), objectives=("accuracy",), repeats=1, warm_start=(),
                   storage=None, storage_path=shared, address=runtime.get("address", parent.address), resources=resources,
                   budget_epochs=0, time_budget=0.0, start_from="",  # every finalist and seed runs to the end
                   seed=parent.seed + 1_000_003,  # seeds apart from the search's (its seed + trial number)
                   save_weights=True, train=replace(parent.train, epochs=epochs))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.command = " ".join(["python -m search.retrain", *(sys.argv[1:] if argv is None else argv)])

    def body() -> int:
        from search.study import optuna_study

        optuna_study.quiet()
        return retrain(args)

    return run_main("python -m search.retrain", body)


def retrain(args) -> int:
    from search.study import pipeline, refusals

    require_int("--seeds", args.seeds, 1)
    require_int("--epochs", args.epochs, 1)
    if args.top is not None:
        require_int("--top", args.top, 1)
    if args.export == "onnx":
        check_onnx()
        if args.storage_path and io.is_uri(args.storage_path):
            raise ValueError("--export onnx writes beside local networks: give a folder as --storage-path, not a URI")
    refusals.check_results_dir(args.results_dir or "results")
    study_dir = results.study_path(args.study, args.results_dir or "results")
    table = results.load(study_dir)
    chosen = finalists(table, args)
    parent = StudyConfig.from_json((study_dir / "study.json").read_text())
    runtime = given(args, StudyConfig, only=RUNTIME)
    runtime.pop("results_dir", None)  # where the study is, not where the retraining goes
    config = retrain_config(parent, study_dir, runtime, len(chosen) * args.seeds, args.epochs)
    plan = json.dumps({"finalists": chosen, "seeds": args.seeds, "epochs": args.epochs})
    specs = {int(n): NetSpec.from_json(a) for n, a in zip(table["trial"], table["arch"]) if n in chosen}
    queue = tuple(QueuedTrial({"finalist": n, "seed_index": s}, {}) for n in chosen for s in range(args.seeds))
    given_now = {**runtime, "results_dir": str(study_dir)}  # where the study is now, if it moved
    request = pipeline.Request(config, resume=check_resume(config.study_dir(), plan), given=given_now,
                               space=FinalistSpace(specs, args.seeds), queue=queue, files=(("retrain.json", plan),),
                               resume_command=args.command)
    prepared = pipeline.prepare(request)
    code = pipeline.execute(prepared)
    out = retrain_table(config)
    results.write(out, study_dir, "retrain")
    print(summary(out, table))
    if args.export == "onnx":
        export_onnx(out, prepared.splits.image_size)
    return code


def check_resume(folder: Path, plan: str) -> bool:
    """True when an earlier run of the same retraining is there to continue."""
    saved = folder / "retrain.json"
    if not folder.exists():
        return False
    if not saved.exists() or json.loads(saved.read_text()) != json.loads(plan):
        raise ValueError(f"{folder} holds another retraining ({saved.read_text() if saved.exists() else 'unreadable'}); "
                         f"remove that folder to start this one")
    return True


def retrain_table(config: StudyConfig) -> pd.DataFrame:
    df = results.load(config.study_dir())
    if "finalist" not in df:  # stopped before any retraining was asked for
        return pd.DataFrame(columns=schema.view("retrain"))
    out = df.rename(columns={"trial": "retrain_trial", "finalist": "trial"})
    out["weights"] = [str(io.join(config.trial_root(), "models", f"{n:05d}.pt")) if s == "COMPLETE" else None
                      for n, s in zip(out["retrain_trial"], out["state"])]
    return out[schema.view("retrain")].sort_values(["trial", "seed"]).reset_index(drop=True)


def summary(out: pd.DataFrame, table: pd.DataFrame) -> str:
    from scipy import stats

    done = out[out["state"] == "COMPLETE"]
    searched = table.set_index("trial")["accuracy"]
    rows = []
    for trial, group in done.groupby("trial"):
        row = {"trial": trial, "search_accuracy": searched[trial], "runs": len(group), "macs": group["macs"].iloc[0]}
        rows.append({**row, **mean_interval("test_accuracy", group["test_accuracy"].astype(float), 0.95)})
    per = pd.DataFrame(rows)
    lines = ["retrained finalists (test accuracy: mean and 95% confidence interval over seeds):",
             per.to_string(index=False, float_format=lambda v: f"{v:.4f}") if rows else "(none complete)"]
    if len(per) >= 2:
        tau, p = stats.kendalltau(per["search_accuracy"], per["test_accuracy_mean"])
        lines.append(f"rank agreement, search accuracy vs retrained test accuracy: Kendall's tau {tau:.3f} (p = {p:.3g}, "
                     f"{len(per)} finalists)")
    else:
        lines.append("rank agreement: needs at least 2 finalists")
    return "\n".join(lines)


def check_onnx() -> None:
    if importlib.util.find_spec("onnx") is None:
        raise ValueError("--export onnx needs the onnx package: pip install onnx")


def export_onnx(out: pd.DataFrame, image_size: int) -> None:
    import torch

    from blocks import build

    for path in out["weights"].dropna():
        spec = NetSpec.from_json(Path(path).with_suffix(".json").read_text())
        net = build(spec).eval()
        net.load_state_dict(torch.load(path, weights_only=True))
        example = torch.zeros(1, spec.in_channels, image_size, image_size)
        with warnings.catch_warnings():  # the TorchScript exporter needs no onnxscript; torch warns it is legacy
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(net, (example,), str(Path(path).with_suffix(".onnx")), dynamo=False)
    print(f"wrote {len(out['weights'].dropna())} ONNX files beside the weights", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
