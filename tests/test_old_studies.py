"""Studies written by earlier versions load, report and resume unchanged: ``v0`` (before the
results schema, no Optuna database kept) and ``v1`` (flat settings in study.json)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from search import results
from search.config.study import StudyConfig
from search.report import main as report
from search.run import main as run

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _values(df: pd.DataFrame, column: str) -> list:
    return df[column].astype(object).where(df[column].notna(), None).tolist()


@pytest.mark.parametrize("name", ["v0", "v1"])
def test_an_old_study_loads_with_every_value_as_written_and_reports(name, tmp_path, capsys):
    folder = shutil.copytree(FIXTURES / f"{name}-study", tmp_path / name)
    raw, df = pd.read_parquet(folder / "trials.parquet"), results.load(folder)
    assert set(raw["space"]) == {"resnext"} and set(df["space"]) == {"resnext_v1"}  # the old default, by its new name
    raw["space"] = df["space"]
    assert len(df) == 3 and all(_values(df, c) == _values(raw, c) for c in raw.columns)
    assert report([str(folder), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.md").exists()


def test_a_flat_study_json_keeps_its_settings_in_the_groups():
    config = StudyConfig.from_json((FIXTURES / "v1-study" / "study.json").read_text())
    assert (config.name, config.trials, config.epochs, config.max_mmacs) == ("v1", 3, 2, 0.4)
    assert (config.schedule.scheduler, config.schedule.grace_period, config.schedule.reduction_factor) == ("asha", 0, 3)
    assert (config.resources.max_concurrent, config.resources.gpus_per_trial) == (1, 0.0)
    assert config.start_from == ""  # it queued no hand design, and its resume says so


def test_a_study_json_without_start_from_queued_no_designs():
    config = StudyConfig.from_json((FIXTURES / "v0-study" / "study.json").read_text())
    assert config.start_from == "" and StudyConfig().start_from == "auto"


def test_a_damaged_table_is_one_line_that_says_how_to_mend_it(tmp_path):
    folder = shutil.copytree(FIXTURES / "v1-study", tmp_path / "v1")
    (folder / "trials.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match=r"cannot be read .*--resume\), or restore it") as err:
        results.load(folder)
    assert "\n" not in str(err.value)


def test_an_old_study_resumes_keeping_its_trials_and_a_damaged_table_is_rewritten(tmp_path, ray_session):
    folder = shutil.copytree(FIXTURES / "v1-study", tmp_path / "v1")
    before = results.load(folder)
    (folder / "trials.parquet").write_bytes(b"damaged")  # the Optuna storage holds the truth
    argv = ["--name", "v1", "--results-dir", str(tmp_path), "--resume", "--trials", "4"]
    assert run(argv) == 0
    after = results.load(folder)
    assert len(after) == 4 and after["state"].iloc[3] in ("COMPLETE", "PRUNED")
    for column in ("trial", "state", "accuracy", "macs", "arch", "seed"):
        assert _values(after.iloc[:3], column) == _values(before, column), column
    assert StudyConfig.from_json((folder / "study.json").read_text()).trials == 3  # study.json as created
