"""StudyConfig: holds a TrainConfig, declares what may change on resume, reads older study.json."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from search.config.study import StudyConfig
from search.config.train import TrainConfig


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
    runtime = {"trials", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "gpu_share", "address", "results_dir", "storage_path"}
    assert StudyConfig.may_change_on_resume(field.name) == (field.name in runtime)


def test_bad_training_settings_are_refused():
    with pytest.raises(ValueError, match="lr must be > 0"):
        StudyConfig(train={"lr": -1.0})


@pytest.mark.parametrize("settings, message", [
    ({"grace_period": 7}, "beyond the epoch budget"),
    ({"grace_period": -1}, "--grace-period"),
    ({"reduction_factor": 1}, "--reduction-factor must be a number > 1"),
    ({"reduction_factor": True}, "--reduction-factor"),
    ({"brackets": 0}, "--brackets"),
    ({"brackets": 2, "objectives": ("accuracy", "macs")}, "one objective"),
])
def test_bad_schedules_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        StudyConfig(train=TrainConfig(epochs=6), **settings)


@pytest.mark.parametrize("epochs, grace, first", [(10, 0, 3), (6, 0, 2), (2, 0, 1), (10, 4, 4)])
def test_the_first_rung_is_the_grace_period_or_a_third_of_the_epochs(epochs, grace, first):
    assert StudyConfig(train=TrainConfig(epochs=epochs), grace_period=grace).first_rung == first


def test_a_study_created_before_the_schedule_was_a_setting_resumes_with_the_schedule_it_had():
    old = {k: v for k, v in json.loads(StudyConfig().to_json()).items()
           if k not in ("grace_period", "reduction_factor", "brackets")}
    config = StudyConfig.from_json(json.dumps(old))
    assert (config.grace_period, config.reduction_factor, config.brackets) == (2, 3, 1)  # 10 epochs // 5
