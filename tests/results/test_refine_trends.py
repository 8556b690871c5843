"""Refining a space from its trials: binned error trends with intervals, clearly worse bins dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from search.results.refine import bins_of, refined_ranges, trend, trends


def trials(n: int = 48, seed: int = 0) -> pd.DataFrame:
    """Deep networks are worse; the block kind does not matter; width spreads."""
    rng = np.random.default_rng(seed)
    depth = rng.integers(1, 5, n)
    error = 0.4 + 0.08 * depth + rng.normal(0, 0.01, n)
    return pd.DataFrame({"trial": range(n), "state": "COMPLETE", "accuracy": 1 - error, "depth_1": depth,
                         "block_1": rng.choice(["basic", "bottleneck"], n), "width_1": rng.integers(8, 512, n)})


def test_numbers_with_many_values_fall_in_quantile_bins_and_few_values_are_their_own():
    df = trials()
    assert set(bins_of(df["depth_1"])) == {"1", "2", "3", "4"}
    assert bins_of(df["width_1"]).nunique() == 4 and all(".." in b for b in bins_of(df["width_1"]))


def test_a_clearly_worse_bin_is_marked_and_the_best_first():
    table = trend(trials(), "depth_1")
    assert table["bin"].tolist()[0] == "1" and table.set_index("bin")["worse"].to_dict() == \
        {"1": False, "2": True, "3": True, "4": True}
    assert (table["ci_low"] <= table["median_error"]).all() and (table["median_error"] <= table["ci_high"]).all()


def test_the_refined_ranges_keep_what_is_not_clearly_worse():
    ranges = refined_ranges(trends(trials()))
    assert ranges == {"depth_1": {"low": 1, "high": 1}}  # block and width: no bin clearly worse


def test_choices_stay_choices():
    df = trials().assign(block_1=lambda d: np.where(d["depth_1"] > 1, "bottleneck", "basic"))
    assert refined_ranges(trend(df, "block_1"))["block_1"] == {"choices": ["basic"]}


def test_small_bins_are_never_dropped():
    df = trials(n=6)
    assert not trend(df, "depth_1").query("trials < 4")["worse"].any()


def test_nothing_varies_is_one_line():
    with pytest.raises(ValueError, match="no sampled parameter varies"):
        trends(trials().assign(depth_1=2, block_1="basic", width_1=64))


def test_a_clearly_worse_bin_that_a_hand_design_takes_is_kept():
    from search.results.refine import vetoed

    table = trends(trials())
    assert refined_ranges(table, {"depth_1": {3}}) == {"depth_1": {"low": 1, "high": 3}}
    assert refined_ranges(table, {"depth_1": {1, 2, 3, 4}}) == {}
    assert vetoed(table, {"depth_1": {3}}) == ["depth_1=3"]


@pytest.mark.parametrize("earlier, new, out", [
    ({"c": {"choices": [1, 8, 32]}}, {"c": {"low": 1, "high": 8}}, {"c": {"choices": [1, 8]}}),
    ({"d": {"low": 2, "high": 4}}, {"d": {"low": 1, "high": 3}}, {"d": {"low": 2, "high": 3}}),
    ({"b": {"choices": ["x", "y"]}}, {"b": {"choices": ["y", "z"]}}, {"b": {"choices": ["y"]}}),
    ({"d": {"low": 2, "high": 4}}, {"w": {"low": 8, "high": 64}}, {"d": {"low": 2, "high": 4}, "w": {"low": 8, "high": 64}}),
])
def test_a_refinement_of_a_refined_space_never_widens_it(earlier, new, out):
    from search.results.refine import narrowed

    assert narrowed(earlier, new) == out
