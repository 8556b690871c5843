"""A refined space: a built-in space narrowed by data, refused in one line when the data is off."""

from __future__ import annotations

import json

import optuna
import pytest

import spaces
from spaces import Budget

BUDGET = Budget.from_millions(32, 3, 10, 0, 10)


def write(tmp_path, data) -> str:
    path = tmp_path / "refined.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return f"refined:{path}"


def test_every_sample_keeps_within_the_refined_ranges_and_replays(tmp_path):
    name = write(tmp_path, {"base": "resnext_v1", "ranges": {"stages": {"low": 2, "high": 3}, "depth_1": {"high": 2},
                                                          "cardinality_1": {"choices": [1, 4]}}})
    space = spaces.get(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        spec = space(trial, BUDGET)
        assert 2 <= trial.params["stages"] <= 3 and trial.params["depth_1"] <= 2
        assert trial.params["cardinality_1"] in (1, 4)
        assert space(optuna.trial.FixedTrial(trial.params), BUDGET) == spec


@pytest.mark.parametrize("data, words", [
    ("{not json", "not JSON"),
    ({"ranges": {}}, "expected {\"base\""),
    ({"base": "nospace", "ranges": {}}, "expected {\"base\""),
    ({"base": "resnext_v1", "ranges": {"width_9": {"low": 8}}}, "resnext_v1 has no dimension 'width_9'"),
    ({"base": "resnext_v1", "ranges": {"stages": {"low": 3, "high": 2}}}, "low <= high"),
    ({"base": "resnext_v1", "ranges": {"stages": {"choices": []}}}, "dimension 'stages' needs"),
    ({"base": "resnext_v1", "ranges": {"stages": {"low": "two"}}}, "dimension 'stages' needs"),
])
def test_a_refined_space_that_does_not_load_is_one_line(tmp_path, data, words):
    with pytest.raises(ValueError, match=words.replace("{", r"\{")) as err:
        spaces.get(write(tmp_path, data))
    assert "\n" not in str(err.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="cannot read it"):
        spaces.get(f"refined:{tmp_path / 'none.json'}")
