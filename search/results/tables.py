"""The results table of a study: written atomically as the study runs, loaded as typed pandas.

``results/<study>/trials.parquet`` (and ``trials.csv``) hold one row per trial. Reading touches
only Parquet and CSV files, never pickles.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

import spaces
from search.core import io
from search.results import schema
from search.results.analysis import best, edf, grouping_table, pareto, trends

__all__ = [  # the public API: the table, and its analysis re-exported
    "best", "edf", "epochs_table", "grouping_table", "load", "load_epochs", "load_table", "load_many", "pareto", "study_path", "summary", "table", "trends", "typed",
    "write",
]

def table(rows: Iterable[dict[str, Any]], integer_params: Iterable[str] = ()) -> pd.DataFrame:
    """Typed DataFrame of trial rows: fixed columns first, then sampled parameters."""
    df = pd.DataFrame(list(rows))
    for column in integer_params:
        if column in df:  # a stage that some networks lack leaves gaps: nullable ints
            df[column] = pd.to_numeric(df[column]).astype("Int64")
    return typed(df)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """The schema's columns first (added empty where missing: rows of failed trials, or a table
    written by an older version), each with its type; sampled parameters after them."""
    df = df.reindex(columns=list(schema.NAMES) + [c for c in df.columns if c not in schema.NAMES])
    df["space"] = df["space"].map(spaces.as_stored, na_action="ignore")  # an older study's name for its space
    for column in schema.COLUMNS:
        df[column.name] = _as(df[column.name], column.dtype)
    return df.sort_values("trial").reset_index(drop=True)


def _as(values: pd.Series, dtype: str) -> pd.Series:
    """``values`` as the schema's type; a value that is not of it is an error, not a silent NaN."""
    converted = values
    if dtype in ("int", "float"):
        converted = pd.to_numeric(values, errors="coerce")
    elif dtype == "datetime":
        with warnings.catch_warnings():  # pandas warns when it cannot guess a format: the check below says more
            warnings.simplefilter("ignore", UserWarning)
            converted = pd.to_datetime(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if dtype == "int":  # fractions and infinities have no Int64
        bad |= converted.notna() & ~(np.isfinite(converted) & (converted == converted.round()))
    if bad.any():
        example = values[bad].iloc[0]
        example = example.item() if hasattr(example, "item") else example  # numpy scalars print as plain numbers
        raise ValueError(f"column {values.name!r} holds {example!r}, which is not a{'n' if dtype == 'int' else ''} "
                         f"{dtype}: not a results table of this project, or an edited one")
    return converted.astype(schema.DTYPES[dtype])


def epochs_table(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Typed DataFrame of epoch rows (schema ``EPOCH_COLUMNS``), in trial and epoch order."""
    df = pd.DataFrame(list(rows)).reindex(columns=list(schema.EPOCH_NAMES))
    for column in schema.EPOCH_COLUMNS:
        df[column.name] = _as(df[column.name], column.dtype)
    return df.sort_values(["trial", "epoch"]).reset_index(drop=True)


def write(df: pd.DataFrame, study_dir: Path, name: str = "trials") -> None:
    """<name>.parquet and <name>.csv, each written atomically."""
    io.write_atomic(study_dir / f"{name}.parquet", lambda tmp: df.to_parquet(tmp, index=False))
    io.write_atomic(study_dir / f"{name}.csv", lambda tmp: df.to_csv(tmp, index=False))


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
    table = parquet if parquet.exists() else path / "trials.csv"
    df = _read(table)
    try:
        return typed(df)
    except ValueError as err:
        raise ValueError(f"{table}: {err}") from None


def load_table(study: str | os.PathLike, name: str) -> pd.DataFrame:
    """Another table a study folder holds (``retrain``: search.retrain's), as written."""
    path = Path(study) / f"{name}.parquet"
    if not path.exists():
        raise ValueError(f"{study} has no {name} table ({path.name}): run python -m search.{name} first")
    return _read(path)


def load_epochs(path_or_study: str | os.PathLike, results_dir: str | os.PathLike = "results") -> pd.DataFrame:
    """The epochs table of a study: one row per trial and epoch run (empty for a study written
    before epochs were recorded)."""
    path = study_path(path_or_study, results_dir)
    parquet, csv = path / "epochs.parquet", path / "epochs.csv"
    rows = _read(parquet) if parquet.exists() else _read(csv) if csv.exists() else []
    return epochs_table(rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows)


def _read(table: Path) -> pd.DataFrame:
    """A table file as written; a damaged one is a one-line ValueError that says how to mend it."""
    try:
        return pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
    except (ValueError, OSError) as err:  # pyarrow's and pandas' parse errors are ValueErrors
        detail = " ".join(str(err).replace(f"'{table}'", "it").split())[:160]
        raise ValueError(f"{table} cannot be read ({detail}): a study's own run rewrites it "
                         "from its Optuna storage (python -m search.run --name NAME --resume), or restore it") from None


def load_many(paths: Iterable[str | os.PathLike], results_dir: str | os.PathLike = "results") -> pd.DataFrame:
    """Several studies in one table, with a ``study`` column (the folder's name)."""
    frames = [load(p, results_dir).assign(study=study_path(p, results_dir).name) for p in paths]
    if not frames:
        raise ValueError("load_many needs at least one study")
    return pd.concat(frames, ignore_index=True)


def summary(df: pd.DataFrame, k: int = 5) -> str:
    """The short table printed at the end of a study."""
    states = df["state"].value_counts()
    lines = [", ".join(f"{states[s]} {word}" for s, word in schema.STATE_WORDS.items() if states.get(s, 0))]
    failures = df[df["state"] == "FAIL"]["error"].fillna("unknown").str.split(":").str[0].value_counts()
    if len(failures):
        lines.append("failures by reason: " + ", ".join(f"{reason} x{n}" for reason, n in failures.items()))
    top = best(df, k)
    if top.empty:
        lines.append("no complete trial yet")
        return "\n".join(lines)
    lines += ["", f"best {len(top)} trials:", top[schema.view("summary")].to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    lines += ["", "accuracy against grouping (complete trials):",
              grouping_table(df).to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    return "\n".join(lines)
