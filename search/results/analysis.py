"""Analysis of results tables, pandas in and pandas out (re-exported by ``search.results``).

grouping_table  accuracy against what grouping saves, per cardinality (or group width)
pareto          the non-dominated trials for any objectives
edf             empirical distribution functions of error (Radosavovic et al. 2019, 2020)
best, trends    the top trials; median accuracy per value of a sampled parameter
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from search.results import schema

MAXIMISE = {"accuracy", "test_accuracy", "throughput", "speedup_vs_dense", "param_reduction", "flop_reduction"}


def complete(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["state"] == "COMPLETE"]


def best(df: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The k most accurate complete trials (fewer MACs first among equals)."""
    return complete(df).sort_values(["accuracy", "macs"], ascending=[False, True]).head(k)


def grouping_key(df: pd.DataFrame) -> str:
    """Group-width spaces (anynet*) group by group width, the others by cardinality."""
    spaces = df["space"].dropna().astype(str)
    return "min_group_width" if len(spaces) and spaces.str.startswith("anynet").all() else "max_cardinality"


def grouping_table(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """One row per largest cardinality (or smallest group width, bucketed to powers of two) of
    the complete trials: count, median and best accuracy, median parameter and FLOP reduction
    against the dense twin, the reduction of the grouped 3x3 convs alone (exactly
    1 - 1/cardinality when every stage has that cardinality), and the measured speedup."""
    by = by or grouping_key(df)
    done = complete(df).copy()
    if by == "min_group_width":
        done[by] = 2 ** np.floor(np.log2(done[by].astype(float))).astype(int)
    grouped = done.groupby(by)
    table = pd.DataFrame({
        "trials": grouped.size(),
        "median_accuracy": grouped["accuracy"].median(),
        "best_accuracy": grouped["accuracy"].max(),
        "median_param_reduction": grouped["param_reduction"].median(),
        "median_flop_reduction": grouped["flop_reduction"].median(),
        "median_conv3x3_reduction": grouped["conv3x3_reduction"].median(),
        "median_speedup_vs_dense": grouped["speedup_vs_dense"].median(),
    }).reset_index()
    name = "cardinality" if by == "max_cardinality" else "group_width" if by == "min_group_width" else by
    table = table.rename(columns={by: name})
    if name == "cardinality":
        table.insert(6, "theory_3x3_reduction", 1 - 1 / table["cardinality"].astype(float))
    return table


def _directions(objectives: Sequence[str], directions: Sequence[str] | None) -> np.ndarray:
    """+1 for objectives to minimise, -1 for those to maximise."""
    if directions is None:
        directions = ["max" if o in MAXIMISE else "min" for o in objectives]
    if len(directions) != len(objectives) or not set(directions) <= {"min", "max"}:
        raise ValueError(f"directions must be 'min' or 'max', one per objective, got {list(directions)}")
    return np.array([1.0 if d == "min" else -1.0 for d in directions])


def pareto(
    df: pd.DataFrame, objectives: Sequence[str] = ("accuracy", "macs"),
    directions: Sequence[str] | None = None, complete_only: bool = True,
) -> pd.DataFrame:
    """The non-dominated rows for ``objectives`` (accuracy-like ones maximised, costs minimised,
    unless ``directions`` says otherwise); complete trials only by default. Vectorised: each
    block of rows is compared with all rows at once."""
    missing = [o for o in objectives if o not in df]
    if missing:
        raise ValueError(f"pareto: no column {missing}; choose from {list(df.columns)}")
    rows = complete(df) if complete_only and "state" in df else df
    rows = rows.dropna(subset=list(objectives))
    values = rows[list(objectives)].to_numpy(dtype=float) * _directions(objectives, directions)
    dominated = np.zeros(len(values), dtype=bool)
    for start in range(0, len(values), 512):
        block = values[start : start + 512, None, :]
        no_worse = (values[None, :, :] <= block).all(axis=2)
        better = (values[None, :, :] < block).any(axis=2)
        dominated[start : start + 512] = (no_worse & better).any(axis=1)
    return rows[~dominated].sort_values(list(objectives)[0], ascending=False)


def edf(df: pd.DataFrame, metric: str = "error", by: str = "study",
        normalize: str | None = None, bins: int = 10) -> pd.DataFrame:
    """Empirical distribution functions of ``metric`` per group: F(e) = share of the group's
    complete trials with value <= e, at each value. ``metric='error'`` is 1 - accuracy.

    ``normalize='params'`` (or 'macs', 'flops') weights the trials so that each group has the
    same, uniform distribution over log-complexity bins (shared edges), the normalised
    comparison of "On Network Design Spaces" (Radosavovic et al., 2019)."""
    done = complete(df).copy()
    done["_value"] = 1 - done["accuracy"] if metric == "error" else done[metric]
    done = done.dropna(subset=["_value"])
    if by not in done:
        raise ValueError(f"edf: no column {by!r} to group by")
    done["_weight"] = 1.0 if normalize is None else _uniform_complexity_weights(done, by, normalize, bins)
    parts = []
    for key, group in done.groupby(by, sort=True):
        sums = group.groupby("_value")["_weight"].sum().sort_index()
        parts.append(pd.DataFrame({by: key, metric: sums.index, "edf": (sums.cumsum() / sums.sum()).to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[by, metric, "edf"])


def _uniform_complexity_weights(df: pd.DataFrame, by: str, column: str, bins: int) -> pd.Series:
    logc = np.log10(df[column].astype(float))
    edges = np.linspace(logc.min(), logc.max(), bins + 1)
    edges[-1] += 1e-9
    bin_of = pd.Series(np.clip(np.digitize(logc, edges) - 1, 0, bins - 1), index=df.index)
    weights = pd.Series(0.0, index=df.index)
    for _, group in df.groupby(by):
        counts = bin_of[group.index].value_counts()
        weights[group.index] = 1.0 / (len(counts) * counts[bin_of[group.index]].to_numpy())
    return weights


def trends(df: pd.DataFrame, param: str) -> pd.DataFrame:
    """Median and best accuracy of the complete trials per value of a sampled parameter."""
    if param not in df:
        raise ValueError(f"trends: no column {param!r}")
    grouped = complete(df).groupby(param)
    return pd.DataFrame({"trials": grouped.size(), "median_accuracy": grouped["accuracy"].median(),
                         "best_accuracy": grouped["accuracy"].max()}).reset_index()


def _trial_keys(df: pd.DataFrame) -> list[str]:
    """What names one trial: its number, and its study where several studies are pooled."""
    return ["study", "trial"] if "study" in df else ["trial"]


def default_epoch(epochs: pd.DataFrame) -> int | None:
    """The deepest epoch that at least half of the trials with any epoch reached (None: none)."""
    reached = epochs.groupby(_trial_keys(epochs))["epoch"].max()
    if reached.empty:
        return None
    return int(reached.sort_values(ascending=False).iloc[(len(reached) - 1) // 2])


def at_epoch(df: pd.DataFrame, epochs: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """The study as if its epoch budget were ``epoch``: every trial that reached it, pruned or
    failed ones included, is COMPLETE with ``accuracy`` its best validation accuracy up to that
    epoch, as ``accuracy`` means everywhere (``state_final`` keeps its real state); test accuracy
    only where the trial's model at that epoch is its final one."""
    keys = _trial_keys(df) if "study" in epochs else ["trial"]
    upto = epochs[epochs["epoch"] <= epoch]
    reached = upto.groupby(keys).filter(lambda g: g["epoch"].max() == epoch)
    best = reached.groupby(keys, as_index=False)["val_accuracy"].max()
    out = df.merge(best, on=keys, how="inner")
    final = (out["state"] == "COMPLETE") & (out["epochs"] == epoch)
    return out.assign(
        state_final=out["state"], state="COMPLETE", accuracy=out["val_accuracy"], epochs=epoch,
        test_accuracy=out["test_accuracy"].where(final),
    ).drop(columns="val_accuracy")


def by_configuration(df: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per configuration (one network, several seeds: ``--repeats``) of the complete
    trials: runs, mean, standard deviation and a Student-t confidence interval of validation and
    test accuracy, the network's complexity, and the sampled parameters it has one value of."""
    rows = []
    by = ["study", "arch"] if "study" in df else ["arch"]
    for _, group in complete(df).groupby(by, sort=False):
        first = group["configuration"].min() if group["configuration"].notna().any() else group["trial"].min()
        row = {**({"study": group["study"].iloc[0]} if "study" in group else {}), "configuration": int(first),
               "runs": len(group)}
        row.update({c: group[c].iloc[0] for c in ("max_cardinality", "params", "macs")})
        for column in sampled_parameters(df):
            if group[column].nunique(dropna=False) == 1:
                row[column] = group[column].iloc[0]
        for column in ("accuracy", "test_accuracy"):
            row.update(mean_interval(column, group[column].dropna().astype(float), confidence))
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values("accuracy_mean", ascending=False).reset_index(drop=True) if rows else table


def sampled_parameters(df: pd.DataFrame) -> list[str]:
    """The columns of sampled parameters: neither results columns nor ones analysis adds."""
    return [c for c in df.columns if c not in schema.NAMES and c not in ("study", "state_final")]


def mean_interval(name: str, values: pd.Series, confidence: float) -> dict[str, float]:
    """Mean, sample standard deviation and the Student-t interval of the mean (NaN below 2 values)."""
    from scipy import stats

    n, mean = len(values), values.mean()
    std = values.std(ddof=1) if n > 1 else float("nan")
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * std / n**0.5 if n > 1 else float("nan")
    return {f"{name}_mean": mean, f"{name}_std": std, f"{name}_ci_low": mean - half, f"{name}_ci_high": mean + half}


def pareto_order(losses: np.ndarray) -> np.ndarray:
    """Row indices of ``losses`` (every objective minimised) best first: by non-dominated front,
    then, within a front, by crowding distance (the spread NSGA-II keeps), larger first."""
    losses = np.asarray(losses, dtype=float).reshape(len(losses), -1)
    remaining, order = np.arange(len(losses)), []
    while len(remaining):
        block = losses[remaining]
        dominated = ((block[None, :, :] <= block[:, None, :]).all(2) & (block[None, :, :] < block[:, None, :]).any(2)).any(1)
        front = remaining[~dominated]
        order += list(front[np.argsort(-_crowding(losses[front]), kind="stable")])
        remaining = remaining[dominated]
    return np.array(order, dtype=int)


def _crowding(front: np.ndarray) -> np.ndarray:
    distance = np.zeros(len(front))
    for column in front.T:
        order = np.argsort(column, kind="stable")
        span = column[order[-1]] - column[order[0]]
        distance[order[[0, -1]]] = np.inf
        if span > 0 and len(front) > 2:
            distance[order[1:-1]] += (column[order[2:]] - column[order[:-2]]) / span
    return distance
