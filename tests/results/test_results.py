"""The results table: typed, written atomically, read back from Parquet or CSV only."""

from __future__ import annotations

import pandas as pd
import pytest

from search import results
from search.results import schema

ROWS = [
    {"trial": 0, "state": "COMPLETE", "accuracy": 0.9, "macs": 100, "max_cardinality": 1, "param_reduction": 0.0,
     "flop_reduction": 0.0, "depth_1": 2},
    {"trial": 1, "state": "PRUNED", "accuracy": 0.5, "macs": 50, "max_cardinality": 4, "depth_1": 1},
    {"trial": 2, "state": "FAIL", "error": "DivergedError: loss became nan", "max_cardinality": 4},
    {"trial": 3, "state": "COMPLETE", "accuracy": 0.95, "macs": 80, "max_cardinality": 4, "param_reduction": 0.5,
     "flop_reduction": 0.4, "depth_1": 3},
]


def test_table_is_typed_with_fixed_columns_first():
    df = results.table(ROWS, integer_params=["depth_1"])
    assert list(df.columns[: len(schema.NAMES)]) == list(schema.NAMES)
    assert str(df["macs"].dtype) == "Int64" and str(df["depth_1"].dtype) == "Int64"
    assert df["accuracy"].dtype == "float64" and str(df["state"].dtype) == "string"


def test_write_then_load_round_trips(tmp_path):
    df = results.table(ROWS)
    results.write(df, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.csv", "trials.parquet"]  # no temp files left
    pd.testing.assert_frame_equal(results.load(tmp_path), df)
    (tmp_path / "trials.parquet").unlink()
    assert results.load(tmp_path)["accuracy"].tolist()[0] == 0.9  # CSV when there is no Parquet


def test_a_table_written_before_newer_columns_existed_still_loads(tmp_path):
    old = results.table(ROWS).drop(columns=["node", "hostname", "worker_pid", "trial_seconds"])
    old.to_parquet(tmp_path / "trials.parquet", index=False)
    df = results.load(tmp_path)
    assert df["node"].isna().all() and str(df["worker_pid"].dtype) == "Int64" and len(df) == len(ROWS)


def test_load_by_study_name_under_results_dir(tmp_path):
    results.write(results.table(ROWS), tmp_path / "results" / "mine")
    assert len(results.load("mine", results_dir=tmp_path / "results")) == 4


def test_load_refuses_a_folder_that_is_not_a_study(tmp_path):
    with pytest.raises(ValueError, match="is not a study"):
        results.load(tmp_path)


def test_summary_counts_states_failures_and_groups_by_cardinality():
    text = results.summary(results.table(ROWS))
    assert "2 complete, 1 pruned, 1 failed" in text and "DivergedError x1" in text
    grouping = results.grouping_table(results.table(ROWS))
    assert grouping["cardinality"].tolist() == [1, 4] and grouping["best_accuracy"].tolist() == [0.9, 0.95]


def test_a_study_folder_written_by_the_version_before_the_schema_loads_unchanged():
    """tests/fixtures/v0-study: a 3-trial digits study written by commit 105d632, before the schema."""
    from pathlib import Path

    import spaces
    from search.config.study import StudyConfig

    folder = Path(__file__).resolve().parents[1] / "fixtures" / "v0-study"
    raw = pd.read_parquet(folder / "trials.parquet")
    df = results.load(folder)
    assert list(df.columns[: len(schema.NAMES)]) == list(schema.NAMES) and len(df) == 3
    raw["space"] = raw["space"].map(spaces.as_stored)  # "resnext" then: the space now named resnext_v1
    for column in raw.columns:  # every value as it was written
        assert df[column].astype(object).where(df[column].notna(), None).tolist() == \
            raw[column].astype(object).where(raw[column].notna(), None).tolist(), column
    config = StudyConfig.from_json((folder / "study.json").read_text())
    assert config.epochs == 2 and config.trials == 3 and config.name == "v0"


@pytest.mark.parametrize("column, value, kind", [("macs", "many", "an int"), ("accuracy", "high", "a float"),
                                                 ("trial", 1.5, "an int"), ("datetime_start", "noon", "a datetime")])
def test_a_table_with_values_of_the_wrong_type_is_refused_in_one_line(tmp_path, column, value, kind):
    df = results.table(ROWS).astype(object)
    df[column] = value
    df.to_parquet(tmp_path / "trials.parquet")
    with pytest.raises(ValueError) as err:
        results.load(tmp_path)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "trials.parquet") in message
    assert f"column {column!r} holds {value!r}, which is not {kind}" in message
