"""The results table of a study: written atomically as the study runs, loaded as typed pandas.

``results/<study>/trials.parquet`` (and ``trials.csv``) hold one row per trial. Reading touches
only Parquet and CSV files, never pickles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .analysis import best, edf, grouping_table, pareto, trends  # noqa: F401  (the public API)

FIRST_COLUMNS = [
    "trial", "state", "space", "dataset", "accuracy", "test_accuracy", "epochs",
    "params", "macs", "flops", "acts", "params_dense", "macs_dense", "param_reduction", "flop_reduction",
    "conv3x3_reduction", "max_cardinality", "min_group_width", "latency_ms", "dense_latency_ms", "throughput",
    "dense_throughput", "speedup_vs_dense", "device", "train_seconds", "images_per_second", "error", "arch",
    "trial_seconds", "eval_seconds", "setup_seconds", "measure_seconds", "compile_seconds", "node", "hostname",
    "worker_pid", "worker_peak_rss_mb", "worker_rss_mb",
]
INTEGER = ["trial", "epochs", "params", "macs", "flops", "acts", "params_dense", "macs_dense", "max_cardinality",
           "min_group_width", "worker_pid"]
FLOAT = ["accuracy", "test_accuracy", "param_reduction", "flop_reduction", "conv3x3_reduction", "latency_ms",
         "dense_latency_ms", "throughput", "dense_throughput", "speedup_vs_dense", "train_seconds", "images_per_second",
         "trial_seconds", "eval_seconds", "setup_seconds", "measure_seconds", "compile_seconds", "worker_peak_rss_mb",
         "worker_rss_mb"]
STRING = ["state", "space", "dataset", "device", "error", "arch", "node", "hostname"]
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


def table(rows: Iterable[dict[str, Any]], integer_params: Iterable[str] = ()) -> pd.DataFrame:
    """Typed DataFrame of trial rows: fixed columns first, then sampled parameters."""
    df = pd.DataFrame(list(rows))
    for column in integer_params:
        if column in df:  # a stage that some networks lack leaves gaps: nullable ints
            df[column] = pd.to_numeric(df[column]).astype("Int64")
    return typed(df)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed columns first (added empty where missing: rows of failed trials, or a table written
    by an older version), each with its type."""
    df = df.reindex(columns=FIRST_COLUMNS + [c for c in df.columns if c not in FIRST_COLUMNS])
    for column in INTEGER:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("Int64")
    for column in FLOAT:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    for column in STRING:
        df[column] = df[column].astype("string")
    for column in ("datetime_start", "datetime_complete"):
        if column in df:
            df[column] = pd.to_datetime(df[column], errors="coerce")
    return df.sort_values("trial").reset_index(drop=True)


def write(df: pd.DataFrame, study_dir: Path) -> None:
    """trials.parquet and trials.csv, each written to a temporary file and renamed."""
    study_dir.mkdir(parents=True, exist_ok=True)
    for name, save in (("trials.parquet", lambda p: df.to_parquet(p, index=False)),
                       ("trials.csv", lambda p: df.to_csv(p, index=False))):
        tmp = study_dir / f".{name}.{os.getpid()}.tmp"
        save(tmp)
        os.replace(tmp, study_dir / name)


def study_path(path_or_study: str | os.PathLike, results_dir: str | os.PathLike = "results") -> Path:
    """A study folder given as a path, or as a name under ``results_dir``."""
    path = Path(path_or_study)
    if not (path / "trials.parquet").exists() and (Path(results_dir) / path).is_dir():
        path = Path(results_dir) / path
    if not (path / "trials.parquet").exists() and not (path / "trials.csv").exists():
        raise ValueError(f"{path_or_study} is not a study: it has no trials.parquet or trials.csv")
    return path


def load(path_or_study: str | os.PathLike, results_dir: str | os.PathLike = "results") -> pd.DataFrame:
    """The results table of a study (a folder, or a name under ``results_dir``)."""
    path = study_path(path_or_study, results_dir)
    parquet = path / "trials.parquet"
    df = pd.read_parquet(parquet) if parquet.exists() else pd.read_csv(path / "trials.csv")
    return typed(df)


def load_many(paths: Iterable[str | os.PathLike], results_dir: str | os.PathLike = "results") -> pd.DataFrame:
    """Several studies in one table, with a ``study`` column (the folder's name)."""
    frames = [load(p, results_dir).assign(study=study_path(p, results_dir).name) for p in paths]
    if not frames:
        raise ValueError("load_many needs at least one study")
    return pd.concat(frames, ignore_index=True)


def summary(df: pd.DataFrame, k: int = 5) -> str:
    """The short table printed at the end of a study."""
    states = df["state"].value_counts()
    lines = [", ".join(f"{states[s]} {word}" for s, word in STATES.items() if states.get(s, 0))]
    failures = df[df["state"] == "FAIL"]["error"].fillna("unknown").str.split(":").str[0].value_counts()
    if len(failures):
        lines.append("failures by reason: " + ", ".join(f"{reason} x{n}" for reason, n in failures.items()))
    top = best(df, k)
    if top.empty:
        lines.append("no complete trial yet")
        return "\n".join(lines)
    columns = ["trial", "accuracy", "test_accuracy", "params", "macs", "max_cardinality", "param_reduction",
               "flop_reduction", "speedup_vs_dense"]
    lines += ["", f"best {len(top)} trials:", top[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    lines += ["", "accuracy against grouping (complete trials):",
              grouping_table(df).to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    return "\n".join(lines)
