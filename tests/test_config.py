"""StudyConfig: holds a TrainConfig, declares what may change on resume, reads older study.json."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from search.config import StudyConfig
from search.train import TrainConfig


def test_the_config_holds_a_train_config_whose_seed_is_the_studys():
    config = StudyConfig(seed=7, train=TrainConfig(epochs=3, lr=0.1))
    assert isinstance(config.train, TrainConfig) and config.epochs == 3 and config.train.seed == 7


def test_json_round_trip():
    config = StudyConfig(seed=2, trials=5, train=TrainConfig(epochs=4, batch_size=64), objectives=("accuracy", "macs"))
    assert StudyConfig.from_json(config.to_json()) == config


def test_a_study_json_written_before_the_train_config_still_loads():
    old = {**json.loads(StudyConfig().to_json()), "epochs": 6, "train": {"batch_size": 64}}
    config = StudyConfig.from_json(json.dumps(old))
    assert config.epochs == 6 and config.train.batch_size == 64 and config.train.lr == TrainConfig().lr


@pytest.mark.parametrize("field", fields(StudyConfig), ids=lambda f: f.name)
def test_only_resources_and_locations_may_change_on_resume(field):
    runtime = {"trials", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "address", "results_dir", "storage_path"}
    assert StudyConfig.may_change_on_resume(field.name) == (field.name in runtime)


def test_bad_training_settings_are_refused():
    with pytest.raises(ValueError, match="lr must be > 0"):
        StudyConfig(train={"lr": -1.0})
