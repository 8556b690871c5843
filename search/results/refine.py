"""Refining a design space from its trials, as RegNet refines AnyNetX (Radosavovic et al. 2020):
along each sampled dimension, the error of the trials binned by its value (median with a
bootstrap interval); the values whose bin is clearly worse than the best one are dropped, and
what is left becomes a refined space: ranges and choices as data (``spaces.refined``).

A bin is clearly worse when its median error's 95% interval lies wholly above the best bin's.
Numbers are binned by quantiles (at most ``BINS``), a choice is its own bin; bins of fewer than
``MIN_TRIALS`` trials are never dropped (too few to tell).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from search.results.analysis import complete, sampled_parameters
from spaces.refined import Range

BINS = 4
MIN_TRIALS = 4


def bins_of(values: pd.Series) -> pd.Series:
    """Each value's bin label: itself for a choice or a few distinct numbers, else its quantile
    bin ``low..high`` (inclusive, as sampled values)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any() or numeric.nunique() <= BINS:
        return values.astype(str)
    edges = np.unique(np.quantile(numeric, np.linspace(0, 1, BINS + 1)))
    index = np.clip(np.searchsorted(edges, numeric, side="right") - 1, 0, len(edges) - 2)
    bounds = {i: (numeric[index == i].min(), numeric[index == i].max()) for i in np.unique(index)}
    return pd.Series([f"{_num(bounds[i][0])}..{_num(bounds[i][1])}" for i in index], index=values.index)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def trend(df: pd.DataFrame, param: str, seed: int = 0) -> pd.DataFrame:
    """One row per bin of ``param`` over the complete trials that have it: trials, median error
    and its 95% bootstrap interval, the bin's values, and whether it is clearly worse."""
    from scipy import stats

    done = complete(df).dropna(subset=[param])
    error = 1 - done["accuracy"].astype(float)
    rows = []
    for label, group in error.groupby(bins_of(done[param]), sort=False):
        low = high = float(group.median())
        if len(group) > 1:
            ci = stats.bootstrap((group.to_numpy(),), np.median, confidence_level=0.95, method="percentile",
                                 random_state=seed).confidence_interval
            low, high = float(ci.low), float(ci.high)
        rows.append({"param": param, "bin": label, "trials": len(group), "median_error": float(group.median()),
                     "ci_low": low, "ci_high": high, "values": sorted(done.loc[group.index, param].unique().tolist())})
    out = pd.DataFrame(rows)
    best = out.loc[out["median_error"].idxmin()]
    out["worse"] = (out["trials"] >= MIN_TRIALS) & (out["ci_low"] > best["ci_high"])
    return out.sort_values("median_error", ignore_index=True)


def trends(df: pd.DataFrame) -> pd.DataFrame:
    """``trend`` of every sampled parameter that varies, one table."""
    params = [p for p in sampled_parameters(df) if complete(df)[p].dropna().nunique() > 1]
    if not params:
        raise ValueError("no sampled parameter varies among the complete trials: nothing to refine")
    return pd.concat([trend(df, p) for p in params], ignore_index=True)


def refined_ranges(table: pd.DataFrame, keep: dict[str, set] | None = None) -> dict[str, dict[str, Any]]:
    """Per parameter with a clearly worse bin: the values kept, as ``{"choices": [...]}`` for
    choices or ``{"low": x, "high": y}`` for numbers (the span of the bins kept). A worse bin
    holding a value of ``keep`` (what the hand designs take) is kept all the same."""
    out = {}
    for param, rows in table.groupby("param", sort=False):
        dropped = rows["worse"] & ~rows["values"].map(lambda values: _held(values, param, keep or {}))
        if not dropped.any():
            continue
        kept = [v for values in rows.loc[~dropped, "values"] for v in values]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in kept):
            low, high = min(kept), max(kept)
            out[param] = {"low": _plain(low), "high": _plain(high)}
        else:
            out[param] = {"choices": sorted({_plain(v) for v in kept}, key=str)}
    return out


def narrowed(earlier: dict, new: dict) -> dict:
    """``earlier`` ranges narrowed further by ``new`` ones, never widened: choices filtered into a
    new span, spans intersected."""
    out = {**earlier}
    for name, spec in new.items():
        was = Range(**{k: tuple(v) if k == "choices" else v for k, v in earlier.get(name, {}).items()})
        if "choices" in spec:
            out[name] = {"choices": [v for v in spec["choices"] if was.keeps(v)] or spec["choices"]}
        elif was.choices is not None:
            now = Range(low=spec["low"], high=spec["high"])
            out[name] = {"choices": [v for v in was.choices if now.keeps(v)] or list(was.choices)}
        else:
            low, high = max(spec["low"], was.low if was.low is not None else spec["low"]), \
                min(spec["high"], was.high if was.high is not None else spec["high"])
            out[name] = {"low": low, "high": high} if low <= high else spec
    return out


def vetoed(table: pd.DataFrame, keep: dict[str, set]) -> list[str]:
    """The clearly worse bins that ``refined_ranges`` keeps because a hand design takes a value
    in them, as ``param=bin`` labels."""
    worse = table[table["worse"]]
    return [f"{row.param}={row.bin}" for row in worse.itertuples() if _held(row.values, row.param, keep)]


def _held(values: list, param: str, keep: dict[str, set]) -> bool:
    """Whether a bin's ``values`` include one that a hand design takes (``keep``)."""
    return bool(set(values) & keep.get(param, set()))


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and math.isfinite(value) and value.is_integer() else value
