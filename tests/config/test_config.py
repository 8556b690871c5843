"""StudyConfig: grouped settings, flags generated from them, what may change on resume, older study.json."""

from __future__ import annotations

import argparse
import json

import pytest

from search.config.flags import add_flags, flagged, given
from search.config.resources import ResourceRequest
from search.config.schedule import ScheduleConfig
from search.config.setting import flag_name
from search.config.study import StudyConfig
from search.core.errors import StudyError
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


def _resumable(cls, prefix=""):
    for dest, f, spec in flagged(cls):
        yield dest, spec.resumable


@pytest.mark.parametrize("dest, resumable", list(_resumable(StudyConfig)), ids=lambda v: str(v))
def test_only_the_study_size_resources_and_locations_may_change_on_resume(dest, resumable):
    runtime = {"trials", "budget_epochs", "time_budget", "results_dir", "address", "storage_path", "resources.max_concurrent",
               "resources.cpus_per_trial", "resources.gpus_per_trial", "resources.gpu_share"}
    assert resumable == (dest in runtime)


def test_a_resume_takes_what_may_change_and_refuses_a_fixed_setting_changed():
    saved = StudyConfig(trials=4, train=TrainConfig(epochs=3))
    resumed = saved.resumed({"trials": 8, "resources": {"max_concurrent": 1}, "train": {"epochs": 3}})
    assert (resumed.trials, resumed.resources.max_concurrent, resumed.epochs) == (8, 1, 3)
    with pytest.raises(StudyError, match="created with epochs=3"):
        saved.resumed({"train": {"epochs": 5}})
    with pytest.raises(StudyError, match="created with scheduler='asha'"):
        saved.resumed({"schedule": {"scheduler": "fifo"}})


@pytest.mark.parametrize("argv, settings", [
    ([], {}),
    (["--epochs", "3", "--lr-schedule", "cosine"], {"train": {"epochs": 3, "schedule": "cosine"}}),
    (["--budget-mmacs", "1:5"], {"min_mmacs": 1.0, "max_mmacs": 5.0}),
    (["--objectives", "accuracy, macs"], {"objectives": ("accuracy", "macs")}),
    (["--gpus-per-trial", "auto", "--scheduler", "fifo"], {"resources": {"gpus_per_trial": "auto"},
                                                            "schedule": {"scheduler": "fifo"}}),
    (["--warm-start", "a", "b", "--compile"], {"warm_start": ("a", "b"), "train": {"compile": True}}),
    (["--time-budget", "1h30m", "--budget-epochs", "120"], {"time_budget": 5400.0, "budget_epochs": 120}),
])
def test_flags_come_from_the_fields_and_give_only_what_was_set(argv, settings):
    parser = argparse.ArgumentParser()
    add_flags(parser, StudyConfig)
    assert given(parser.parse_args(argv), StudyConfig) == settings
    StudyConfig(**settings)  # and they build a config


def test_every_setting_has_a_flag_with_help_and_no_two_share_one():
    names = [flag_name(f) for _, f, _ in flagged(StudyConfig)]
    assert len(names) == len(set(names)) and all(spec.help for _, _, spec in flagged(StudyConfig))


def test_a_flat_study_json_of_the_last_version_loads_into_the_groups():
    flat = {"scheduler": "fifo", "grace_period": 2, "reduction_factor": 4, "brackets": 1, "stopped_as": "complete",
            "cpus_per_trial": 2.0, "gpus_per_trial": "auto", "gpu_share": 0.5, "max_concurrent": 3,
            "train": {"epochs": 6}, "trials": 5, "name": "old", "save_weights": False}
    config = StudyConfig.from_json(json.dumps(flat))
    assert config.schedule == ScheduleConfig("fifo", "complete", 2, 4, 1)
    assert config.resources == ResourceRequest(2.0, "auto", 0.5, 3) and config.epochs == 6


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
        objectives = settings.pop("objectives", ("accuracy",))
        StudyConfig(train=TrainConfig(epochs=6), schedule=ScheduleConfig(**settings), objectives=objectives)


@pytest.mark.parametrize("epochs, grace, first", [(10, 0, 3), (6, 0, 2), (2, 0, 1), (10, 4, 4)])
def test_the_first_rung_is_the_grace_period_or_a_third_of_the_epochs(epochs, grace, first):
    assert ScheduleConfig(grace_period=grace).first_rung(epochs) == first


def test_a_study_created_before_the_schedule_was_a_setting_resumes_with_the_schedule_it_had():
    old = {k: v for k, v in json.loads(StudyConfig().to_json()).items() if k != "schedule"}
    schedule = StudyConfig.from_json(json.dumps({**old, "scheduler": "asha"})).schedule
    assert (schedule.grace_period, schedule.reduction_factor, schedule.brackets) == (2, 3, 1)  # 10 epochs // 5


def test_an_empty_name_is_refused_not_replaced_by_the_default():
    with pytest.raises(ValueError, match="must be a plain name"):
        StudyConfig(name="")
    assert StudyConfig().name == "resnext-digits"


def test_a_command_with_some_of_the_flags_reads_only_those():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, nargs="+")  # a command's own flag of the same name
    add_flags(parser, StudyConfig, only={"resources", "address"})
    args = parser.parse_args(["--trials", "0", "3", "--max-concurrent", "1", "--address", "auto"])
    assert given(args, StudyConfig, only={"resources", "address"}) == {"resources": {"max_concurrent": 1},
                                                                        "address": "auto"}


def test_a_new_study_records_the_version_of_the_space_and_keeps_its_name():
    config = StudyConfig(space="resnext")
    assert (config.space, config.name) == ("resnext_v4", "resnext-digits")
    again = StudyConfig.from_json(config.to_json())
    assert again.space == "resnext_v4" and again.resumed({"space": "resnext"}).space == "resnext_v4"


def test_a_study_made_before_the_default_moved_resumes_with_the_space_it_was_made_with():
    old = {**json.loads(StudyConfig().to_json()), "space": "resnext"}  # as every earlier version wrote it
    config = StudyConfig.from_json(json.dumps(old))
    assert config.space == "resnext_v1" and config.resumed({"trials": 30}).space == "resnext_v1"
    with pytest.raises(StudyError, match="made with space 'resnext_v1', and --space resnext now names resnext_v4"):
        config.resumed({"space": "resnext"})  # today's resnext is another space
