"""search.results analysis: Pareto fronts, EDFs, grouping tables, trends (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from search.results import analysis
from search import results


def random_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cards = rng.choice([1, 2, 4, 8, 32], n)
    return pd.DataFrame({
        "trial": np.arange(n), "state": rng.choice(["COMPLETE", "COMPLETE", "PRUNED"], n), "space": "resnext",
        "accuracy": rng.uniform(0.5, 1.0, n).round(3), "macs": rng.integers(1, 400, n) * 1000,
        "params": rng.integers(1, 100, n) * 100, "max_cardinality": cards, "min_group_width": rng.choice([1, 3, 4, 16], n),
        "param_reduction": rng.uniform(0, 0.9, n), "flop_reduction": rng.uniform(0, 0.9, n),
        "conv3x3_reduction": 1 - 1 / cards, "speedup_vs_dense": rng.uniform(0.5, 2, n),
    })


def brute_force_front(values: np.ndarray) -> set[int]:
    """Rows no other row dominates (all objectives minimised), by a double loop."""
    front = set()
    for i, a in enumerate(values):
        if not any((b <= a).all() and (b < a).any() for j, b in enumerate(values) if j != i):
            front.add(i)
    return front


@pytest.mark.parametrize("objectives", [("accuracy", "macs"), ("accuracy", "macs", "params")])
def test_pareto_equals_brute_force_on_2000_points(objectives):
    df = random_table(2000, seed=len(objectives))
    done = df[df["state"] == "COMPLETE"].reset_index(drop=True)
    signs = np.array([-1.0 if o == "accuracy" else 1.0 for o in objectives])
    expected = {int(done["trial"][i]) for i in brute_force_front(done[list(objectives)].to_numpy(float) * signs)}
    assert set(results.pareto(df, objectives)["trial"]) == expected
    assert len(expected) > 3


def test_pareto_directions_and_errors():
    df = pd.DataFrame({"state": "COMPLETE", "accuracy": [0.9, 0.8, 0.95], "macs": [10, 5, 20], "trial": [0, 1, 2]})
    assert set(results.pareto(df)["trial"]) == {0, 1, 2}
    assert set(results.pareto(df, directions=["max", "max"])["trial"]) == {2}
    with pytest.raises(ValueError, match="no column"):
        results.pareto(df, ("accuracy", "latency"))


def test_edf_is_exact_on_a_tiny_example():
    df = pd.DataFrame({"state": "COMPLETE", "study": ["a", "a", "a", "a", "b", "b"],
                       "accuracy": [0.9, 0.8, 0.8, 0.6, 0.7, 0.95]})
    curves = results.edf(df)
    a = curves[curves["study"] == "a"]
    assert a["error"].round(6).tolist() == [0.1, 0.2, 0.4] and a["edf"].tolist() == [0.25, 0.75, 1.0]
    b = curves[curves["study"] == "b"]
    assert b["error"].round(6).tolist() == [0.05, 0.3] and b["edf"].tolist() == [0.5, 1.0]


def test_normalised_edf_weights_each_complexity_bin_equally():
    df = pd.DataFrame({"state": "COMPLETE", "study": "a", "accuracy": [0.9, 0.8, 0.7], "params": [1e3, 1e3, 1e5]})
    curve = results.edf(df, normalize="params", bins=2)
    assert curve["edf"].tolist() == pytest.approx([0.25, 0.5, 1.0])  # the lone large model weighs 1/2


def test_grouping_table_medians_match_pandas():
    df = random_table(300)
    table = results.grouping_table(df).set_index("cardinality")
    done = df[df["state"] == "COMPLETE"]
    for card, group in done.groupby("max_cardinality"):
        row = table.loc[card]
        assert row["trials"] == len(group)
        assert row["median_accuracy"] == group["accuracy"].median() and row["best_accuracy"] == group["accuracy"].max()
        assert row["median_param_reduction"] == group["param_reduction"].median()
        assert row["median_flop_reduction"] == group["flop_reduction"].median()
        assert row["median_speedup_vs_dense"] == group["speedup_vs_dense"].median()
        assert row["theory_3x3_reduction"] == pytest.approx(1 - 1 / card)


def test_anynet_groups_by_group_width_bucket():
    df = random_table(200).assign(space="anynet")
    table = results.grouping_table(df)
    assert "group_width" in table and set(table["group_width"]) <= {1, 2, 4, 16}  # 3 falls in bucket 2


def test_trends_and_best():
    df = random_table(100).assign(depth_1=lambda d: d["trial"] % 3)
    trend = results.trends(df, "depth_1")
    done = df[df["state"] == "COMPLETE"]
    assert trend["median_accuracy"].tolist() == done.groupby("depth_1")["accuracy"].median().tolist()
    top = results.best(df, 3)
    assert len(top) == 3 and (top["state"] == "COMPLETE").all() and top["accuracy"].is_monotonic_decreasing


def test_matched_fidelity_counts_every_trial_that_reached_the_epoch():
    df = results.table([
        {"trial": 0, "state": "COMPLETE", "epochs": 3, "accuracy": 0.9, "test_accuracy": 0.88, "arch": "a"},
        {"trial": 1, "state": "PRUNED", "epochs": 1, "accuracy": 0.5, "arch": "b"},
        {"trial": 2, "state": "PRUNED", "epochs": 2, "accuracy": 0.7, "arch": "c"},
        {"trial": 3, "state": "FAIL", "epochs": 0, "error": "x", "arch": "d"},
    ])
    epochs = results.epochs_table([{"trial": t, "epoch": e, "val_accuracy": a}
                                   for t, e, a in [(0, 1, 0.6), (0, 2, 0.8), (0, 3, 0.9), (1, 1, 0.5), (2, 1, 0.4), (2, 2, 0.7)]])
    assert analysis.default_epoch(epochs) == 2  # 2 of the 3 trials with epochs reached it
    at = analysis.at_epoch(df, epochs, 2)
    assert at["trial"].tolist() == [0, 2] and at["accuracy"].tolist() == [0.8, 0.7] and (at["state"] == "COMPLETE").all()
    assert at["state_final"].tolist() == ["COMPLETE", "PRUNED"] and at["test_accuracy"].isna().all()
    assert analysis.at_epoch(df, epochs, 3)["test_accuracy"].tolist() == [0.88]


def test_configurations_aggregate_seeds_with_a_student_t_interval():
    from scipy import stats

    rows = [{"trial": i, "state": "COMPLETE", "arch": "a" if i < 3 else "b", "configuration": 0 if i < 3 else 3,
             "accuracy": acc, "test_accuracy": acc - 0.01, "macs": 10, "params": 5, "max_cardinality": 4, "template": "t"}
            for i, acc in enumerate([0.90, 0.92, 0.94, 0.80, 0.82])]
    table = analysis.by_configuration(results.table(rows))
    first = table.iloc[0]
    low, high = stats.t.interval(0.95, 2, loc=0.92, scale=stats.sem([0.90, 0.92, 0.94]))
    assert (first["configuration"], first["runs"], first["template"]) == (0, 3, "t")
    assert first["accuracy_mean"] == pytest.approx(0.92) and first["accuracy_ci_low"] == pytest.approx(low)
    assert first["accuracy_ci_high"] == pytest.approx(high) and table["runs"].tolist() == [3, 2]
