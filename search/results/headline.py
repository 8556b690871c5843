"""The report's headline: a study's finalists, retrained over seeds (``retrain.parquet``),
against the hand designs over seeds (a ``search.baselines`` study): each side's mean test
accuracy with its 95% interval, and Welch's t-test that the best finalist beats the best design.
Never a single-seed best-of-N against one run."""

from __future__ import annotations

import pandas as pd

from search.results.analysis import mean_interval

CONFIDENCE = 0.95


def over_seeds(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per ``by`` value (a finalist's trial, a design), of its complete runs: runs, MACs, and the
    mean and interval of test accuracy; best mean first."""
    done = df[df["state"] == "COMPLETE"]
    rows = [{by: key, "runs": len(group), "mmacs": float(group["macs"].iloc[0]) / 1e6,
             **mean_interval("test_accuracy", group["test_accuracy"].astype(float), CONFIDENCE)}
            for key, group in done.groupby(by)]
    columns = [by, "runs", "mmacs", "test_accuracy_mean", "test_accuracy_std", "test_accuracy_ci_low",
               "test_accuracy_ci_high"]
    return pd.DataFrame(rows, columns=columns).sort_values("test_accuracy_mean", ascending=False, ignore_index=True)


def headline(retrained: pd.DataFrame, baselines: pd.DataFrame,
             queued: dict[int, str] | None = None) -> tuple[pd.DataFrame, str]:
    """The two sides' best, side by side, and a sentence with the test; ValueError when a side
    has fewer than 2 complete runs of its best (no interval, no test). ``queued``: the study's
    trials that ran a hand design (``--start-from``), by trial number, so that a finalist that
    is one is named as such."""
    from scipy import stats

    finalists, designs = over_seeds(retrained, "trial"), over_seeds(baselines, "design")
    if finalists.empty or designs.empty or min(finalists["runs"].iloc[0], designs["runs"].iloc[0]) < 2:
        raise ValueError("the headline needs at least 2 complete seeds of the best finalist (python -m "
                         "search.retrain --seeds) and of the best hand design (python -m search.baselines --seeds)")
    best_trial, best_design = finalists.iloc[0], designs.iloc[0]
    ours = _accuracies(retrained, "trial", best_trial["trial"])
    theirs = _accuracies(baselines, "design", best_design["design"])
    test = stats.ttest_ind(ours, theirs, equal_var=False, alternative="greater")
    overlap = (best_trial["test_accuracy_ci_low"] <= best_design["test_accuracy_ci_high"]
               and best_design["test_accuracy_ci_low"] <= best_trial["test_accuracy_ci_high"])
    table = pd.concat([finalists.head(1).rename(columns={"trial": "network"}).assign(side="search finalist"),
                       designs.head(1).rename(columns={"design": "network"}).assign(side="best hand design")])
    verdict = "beats" if test.pvalue < 0.05 and not overlap else \
        "falls short of" if test.pvalue > 0.95 and not overlap else "does not measurably beat"
    trial = int(best_trial["trial"])
    design = (queued or {}).get(trial)
    which = f"trial {trial}, the hand design {design} queued first" if design else f"trial {trial}"
    text = (f"The search's best finalist ({which}, {best_trial['test_accuracy_mean']:.4f} "
            f"[{best_trial['test_accuracy_ci_low']:.4f}, {best_trial['test_accuracy_ci_high']:.4f}], {len(ours)} seeds) "
            f"{verdict} the best hand design ({best_design['design']}, {best_design['test_accuracy_mean']:.4f} "
            f"[{best_design['test_accuracy_ci_low']:.4f}, {best_design['test_accuracy_ci_high']:.4f}], {len(theirs)} "
            f"seeds): Welch's t = {test.statistic:.2f}, one-sided p = {test.pvalue:.3g}; 95% intervals "
            f"{'overlap' if overlap else 'do not overlap'}.")
    return table[["side", "network", *table.columns[1:-1]]].reset_index(drop=True), text


def _accuracies(df: pd.DataFrame, by: str, key) -> pd.Series:
    return df[(df["state"] == "COMPLETE") & (df[by] == key)]["test_accuracy"].astype(float)
