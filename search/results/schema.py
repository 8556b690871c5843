"""The one declaration of the results table's columns.

Each column says where its value comes from, and that alone decides who writes it:
``optuna``  the trial's number, state and times, from Optuna;
``study``   the same for every row of a study;
``plan``    stored on the Optuna trial when the trial is defined (``plan.plan_columns``);
``result``  stored from the trial's last report (the keys ``trial.run_trial`` reports).
``epoch``   one row per trial and epoch in epochs.parquet, from every report (``key`` when the
            report names it otherwise).
The searcher stores, ``results.typed`` types and orders, and ``docs/results.md`` lists exactly
these columns; sampled parameters follow them, one column each. Adding a column is one entry
here plus the code that computes it; then ``python -m search.results > docs/results.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DTYPES = {"int": "Int64", "float": "float64", "string": "string", "datetime": "datetime64[ns]"}
SOURCES = ("optuna", "study", "plan", "result", "epoch")
FINISHED = ("COMPLETE", "PRUNED", "FAIL")  # states a trial never leaves; the others may still run
STATE_WORDS = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


@dataclass(frozen=True)
class Column:
    name: str  # the column's name in trials.parquet and trials.csv
    dtype: str  # one of DTYPES: int (nullable Int64), float, string, datetime
    source: str  # one of SOURCES: who provides the value
    unit: str  # of the value ("" for none)
    meaning: str  # one line, as docs/results.md shows it
    key: str = ""  # the report's key for it, when that differs from the name (epoch columns)

    @property
    def report_key(self) -> str:
        return self.key or self.name


COLUMNS: tuple[Column, ...] = (
    Column("trial", "int", "optuna", "", "Optuna's trial number; names the trial's checkpoint folder"),
    Column("state", "string", "optuna", "", "COMPLETE (ran its whole epoch budget), PRUNED (stopped by the scheduler), FAIL, RUNNING or WAITING"),
    Column("space", "string", "study", "", "the search space"),
    Column("dataset", "string", "study", "", "the dataset"),
    Column("accuracy", "float", "result", "fraction", "best validation accuracy over the epochs run"),
    Column("test_accuracy", "float", "result", "fraction", "test accuracy of the final model (complete trials only)"),
    Column("test_loss", "float", "result", "nats", "mean test cross-entropy of the final model (complete trials only)"),
    Column("epochs", "int", "result", "epochs", "epochs run"),
    Column("seed", "int", "plan", "", "the trial's seed (weights and data order): the study's seed + trial"),
    Column("configuration", "int", "optuna", "", "the trial that first ran this configuration; --repeats runs share it"),
    Column("warm_start", "string", "optuna", "", "study:trial whose parameters this trial replayed (--warm-start)"),
    Column("design", "string", "optuna", "", "the hand design the trial ran (--start-from; search.baselines)"),
    Column("params", "int", "plan", "parameters", "exact analytic parameter count"),
    Column("macs", "int", "plan", "MACs", "multiply-accumulates of conv and linear layers for one image at the dataset's size"),
    Column("flops", "int", "plan", "FLOPs", "2 x macs"),
    Column("acts", "int", "plan", "elements", "output elements of conv and linear layers for one image"),
    Column("params_dense", "int", "plan", "parameters", "params of the dense twin (same spec, cardinality 1)"),
    Column("macs_dense", "int", "plan", "MACs", "macs of the dense twin"),
    Column("param_reduction", "float", "plan", "fraction", "1 - params / params_dense"),
    Column("flop_reduction", "float", "plan", "fraction", "1 - macs / macs_dense"),
    Column("conv3x3_reduction", "float", "plan", "fraction", "what the grouped 3x3 convs alone save: MAC-weighted 1 - 1/cardinality"),
    Column("max_cardinality", "int", "plan", "groups", "the largest cardinality in the network"),
    Column("min_group_width", "int", "plan", "channels", "the smallest group width (channels per group) in the network"),
    Column("latency_ms", "float", "result", "ms", "measured inference latency at batch 1 on the trial's device"),
    Column("dense_latency_ms", "float", "result", "ms", "the same for the dense twin (timed, never trained)"),
    Column("throughput", "float", "result", "images/s", "measured inference throughput at batch 64"),
    Column("dense_throughput", "float", "result", "images/s", "the same for the dense twin"),
    Column("speedup_vs_dense", "float", "result", "ratio", "throughput / dense_throughput"),
    Column("device", "string", "result", "", "where the trial trained and was timed"),
    Column("train_seconds", "float", "result", "s", "training time over all epochs run"),
    Column("images_per_second", "float", "result", "images/s", "training throughput of the last epoch"),
    Column("error", "string", "result", "", "one-line reason of a FAIL"),
    Column("arch", "string", "plan", "", "the spec as JSON: blocks.NetSpec.from_json(arch)"),
    Column("trial_seconds", "float", "result", "s", "the trial's own wall time in its last run, from start to last report"),
    Column("eval_seconds", "float", "result", "s", "time of its validation passes"),
    Column("setup_seconds", "float", "result", "s", "set-up: network, data on the device, checkpoint"),
    Column("measure_seconds", "float", "result", "s", "the speed measurement of the network and its dense twin"),
    Column("compile_seconds", "float", "result", "s", "time torch.compile took, outside the other figures (--compile only)"),
    Column("step_mode", "string", "result", "", "the training step: graph (one captured CUDA graph), eager, or 'eager: <why capture failed>'"),
    Column("capture_seconds", "float", "result", "s", "warm-up and capture of the CUDA-graph step, outside train_seconds (0: eager)"),
    Column("node", "string", "result", "", "the Ray node that ran the trial (first 12 characters of its id)"),
    Column("hostname", "string", "result", "", "the host that ran the trial"),
    Column("worker_pid", "int", "result", "", "the Ray worker process that ran the trial"),
    Column("worker_peak_rss_mb", "float", "result", "MiB", "that process's peak resident memory"),
    Column("worker_rss_mb", "float", "result", "MiB", "its resident memory at the trial's last report"),
    Column("datetime_start", "datetime", "optuna", "", "when Optuna started the trial"),
    Column("datetime_complete", "datetime", "optuna", "", "when Optuna was told its outcome"),
)

NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)

# epochs.parquet: one row per trial and epoch run; (name, dtype, unit, meaning, report key if other)
EPOCH_COLUMNS: tuple[Column, ...] = tuple(Column(name, dtype, "epoch", unit, meaning, key) for name, dtype, unit, meaning, key in (
    ("trial", "int", "", "Optuna's trial number (the row of trials.parquet)", ""),
    ("epoch", "int", "epochs", "the epoch, from 1", "epochs"),
    ("val_accuracy", "float", "fraction", "validation accuracy after this epoch", ""),
    ("val_loss", "float", "nats", "mean validation cross-entropy after this epoch", ""),
    ("train_loss", "float", "nats", "mean training loss over this epoch (label-smoothed)", ""),
    ("epoch_train_seconds", "float", "s", "this epoch's training time", ""),
    ("epoch_eval_seconds", "float", "s", "this epoch's validation pass", ""),
))
EPOCH_NAMES: tuple[str, ...] = tuple(c.name for c in EPOCH_COLUMNS)


# retrain.parquet: one row per finalist and seed; the trials table's columns of VIEWS["retrain"], then these
RETRAIN_COLUMNS: tuple[Column, ...] = (
    Column("retrain_trial", "int", "result", "", "the retraining study's own trial number (its folder under retrain/)"),
    Column("weights", "string", "result", "", "the trained network's state dict (.pt; its spec beside it as .json)"),
)

RETRAIN_NAMES: tuple[str, ...] = tuple(c.name for c in RETRAIN_COLUMNS)

# The columns each printed or written table shows, in order: declared here, never spelled out where used
VIEWS: dict[str, tuple[str, ...]] = {
    "summary": ("trial", "accuracy", "test_accuracy", "params", "macs", "max_cardinality", "param_reduction",
                "flop_reduction", "speedup_vs_dense"),
    "front": ("trial", "accuracy", "test_accuracy", "macs", "params", "max_cardinality", "flop_reduction",
              "speedup_vs_dense"),
    "top": ("trial", "accuracy", "test_accuracy", "macs", "params", "max_cardinality", "flop_reduction",
            "speedup_vs_dense", "param_reduction", "latency_ms", "dense_latency_ms"),
    "retrain": ("trial", "seed", "epochs", "accuracy", "test_accuracy", "params", "macs", "throughput", "latency_ms",
                "speedup_vs_dense", "images_per_second", "state", *(c.name for c in RETRAIN_COLUMNS)),
}


def view(name: str) -> list[str]:
    """The columns of the table ``name`` (a key of VIEWS)."""
    return list(VIEWS[name])


HISTORY = "history"  # a report's key for the rows of the epochs its trial ran before this run


def epoch_row(report: dict[str, Any]) -> dict[str, Any] | None:
    """The epochs-table row of one report, keyed by column name (without ``trial``); None for a
    report that ends no epoch (a failure before or inside its first epoch)."""
    if "error" in report or "val_accuracy" not in report or not isinstance(report.get("epochs"), int):
        return None
    return {c.name: report.get(c.report_key) for c in EPOCH_COLUMNS if c.name != "trial"}


def names(source: str | None = None, dtype: str | None = None) -> tuple[str, ...]:
    """The columns from ``source`` and/or of ``dtype``, in table order."""
    return tuple(c.name for c in COLUMNS if source in (None, c.source) and dtype in (None, c.dtype))


def markdown() -> str:
    """docs/results.md: the column table, generated from COLUMNS (a test keeps it current)."""
    lines = [
        "# Results columns", "",
        "<!-- generated by `python -m search.results > docs/results.md` from search/results/schema.py; do not edit -->", "",
        "`results/<study>/trials.parquet` (and `trials.csv`) hold one row per trial, rewritten atomically",
        "after every finished trial; `search.results.load(study)` reads either as typed pandas. The fixed",
        "columns come first, in this order; each sampled parameter follows as a column of its own",
        "(`stages`, `depth_1`, `cardinality_1`, ...; empty for stages a network lacks).", "",
        "Sources: `optuna` from Optuna's trial; `study` the same for every row; `plan` computed from the",
        "spec when the trial is defined; `result` from the trial's last report.", "",
        "| column | type | unit | source | meaning |", "|---|---|---|---|---|",
    ]
    lines += [f"| `{c.name}` | {c.dtype} | {c.unit} | {c.source} | {c.meaning} |" for c in COLUMNS]
    lines += _section("Epochs", EPOCH_COLUMNS, [
        "`results/<study>/epochs.parquet` (and `epochs.csv`) hold one row per trial and epoch run, pruned and",
        "failed trials included, rewritten with the trials table; `search.results.load_epochs(study)` reads",
        "it. `python -m search.report --at-epoch K` compares trials at matched fidelity from it."])
    shared = ", ".join(f"`{n}`" for n in VIEWS["retrain"] if n not in RETRAIN_NAMES)
    lines += _section("Retrained finalists", RETRAIN_COLUMNS, [
        "`results/<study>/retrain.parquet` (and `retrain.csv`), written by `python -m search.retrain`, hold one row",
        f"per finalist and seed: {shared} as above, then:"])
    return "\n".join(lines) + "\n"



def _section(title: str, columns: tuple[Column, ...], text: list[str]) -> list[str]:
    return ["", f"## {title}", "", *text, "", "| column | type | unit | meaning |", "|---|---|---|---|",
            *(f"| `{c.name}` | {c.dtype} | {c.unit} | {c.meaning} |" for c in columns)]
