"""search.replay: the study's real sampler and scheduler against a recorded pool."""

from __future__ import annotations

from dataclasses import replace

import pytest

from search.config.schedule import ScheduleConfig
from search.config.study import StudyConfig
from search.study.replay import best_at, replay, result, spent_to_reach
from search.config.train import TrainConfig
from search.study.pool import Pool, PoolEntry
from spaces.designs import DESIGNS
from test_pool import EPOCHS, synthetic_pool


@pytest.fixture(scope="module")
def pool():
    return synthetic_pool()


def config(scheduler: str = "asha", **fields) -> StudyConfig:
    return StudyConfig(max_mmacs=10, seed=3, train=TrainConfig(epochs=EPOCHS), name="replay",
                       schedule=ScheduleConfig(scheduler=scheduler), **fields)


@pytest.mark.parametrize("fields", [{"sampler": "random", "scheduler": "fifo"}, {}, {"objectives": ("accuracy", "macs")}],
                         ids=["random-fifo", "tpe-asha", "pareto"])
def test_a_replay_spends_its_budget_and_no_more(pool, fields):
    trials = replay(config(**fields), pool, 40)
    assert trials["spent"].max() <= 40 and trials["spent"].is_monotonic_increasing
    assert set(trials["entry"]) <= {e.trial for e in pool.entries}


def test_random_search_without_stopping_runs_every_trial_to_the_end(pool):
    trials = replay(config(sampler="random", scheduler="fifo"), pool, 40)
    assert (trials["state"] == "COMPLETE").all() and (trials["epochs"] == EPOCHS).all()
    assert len(trials) >= 40 // EPOCHS - 1  # 40 trial-epochs of 4-epoch trials, less the one still running


def test_asha_stops_trials_and_optuna_hears_them_as_pruned(pool):
    trials = replay(config(sampler="random"), pool, 60)
    stopped = trials[trials["state"] == "PRUNED"]
    assert len(stopped) > 0 and (stopped["epochs"] < EPOCHS).all()


def test_a_replay_is_the_same_for_the_same_seed_and_differs_for_another(pool):
    first, again = replay(config(), pool, 40), replay(config(), pool, 40)
    other = replay(replace(config(), seed=4), pool, 40)
    assert first.equals(again) and not first["entry"].equals(other["entry"])


def test_a_pool_of_other_epochs_is_refused(pool):
    with pytest.raises(ValueError, match="recorded with 4 epochs"):
        replay(StudyConfig(max_mmacs=10, train=TrainConfig(epochs=6)), pool, 10)


def test_reports_are_those_of_a_real_trial(pool):
    entry = pool.entries[0]
    assert result(entry, 1) == {"epochs": 1, "accuracy": entry.curve[0], "val_accuracy": entry.curve[0]}
    assert result(entry, EPOCHS)["test_accuracy"] == entry.test_accuracy


def test_best_and_spent_to_reach_read_complete_trials_only(pool):
    trials = replay(config(sampler="random"), pool, 60)
    complete = trials[trials["state"] == "COMPLETE"]
    assert best_at(trials, 60) == complete["accuracy"].max()
    assert spent_to_reach(trials, complete["accuracy"].max()) == complete.loc[complete["accuracy"].idxmax(), "spent"]
    assert spent_to_reach(trials, 2.0) == float("inf")


def test_the_default_replays_its_hand_designs_first_as_a_study_runs_them(pool):
    budget = config().budget(32, 3, 10)
    designs = [PoolEntry(1000 + i, d.spec(budget), 1, 1, (0.5,) * EPOCHS, (1.0,) * EPOCHS, 0.5)
               for i, d in enumerate(DESIGNS.values())]
    with_designs = Pool(pool.entries + tuple(designs), 32, pool.provenance)
    trials = replay(config(), with_designs, 60).sort_values("trial")
    assert trials["entry"].head(len(DESIGNS)).tolist() == [e.trial for e in designs]
    plain = replay(config(start_from="none"), with_designs, 60)
    assert not set(plain["entry"].head(3)) & {e.trial for e in designs}  # without them, random start-up samples
