"""--warm-start: an earlier study's best trials run first, replayed by the space, fitted to the new budget."""

from __future__ import annotations

import optuna
import pytest

import spaces
from search import results
from search.config.resources import Placement
from search.config.study import StudyConfig
from search.study.optuna_study import StudyProposer, define_trial, integer_params, open_study, trial_rows
from search.study.warm_start import TOP, warm_queue

OLD = spaces.Budget(8, 1, 10, max_macs=2_000_000)
NEW = spaces.Budget(8, 1, 10, max_macs=400_000)


@pytest.fixture
def earlier(tmp_path):
    """A finished 6-trial resnext study (no training: accuracies told by hand), as a results folder."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr("space", spaces.canonical("resnext"))  # as a study records it
    for i in range(6):
        trial = study.ask()
        define_trial(trial, spaces.get("resnext"), OLD, StudyConfig(), Placement(1, 0, 2))
        trial.set_user_attr("accuracy", 0.5 + i / 20)
        study.tell(trial, 0.5 + i / 20)
    trials = study.get_trials(deepcopy=False)
    results.write(results.table(trial_rows(study), integer_params(trials)), tmp_path / "results" / "old")
    return study


def test_the_best_trials_of_an_earlier_study_run_first_fitted_to_the_new_budget(earlier, tmp_path):
    config = StudyConfig(warm_start=("old",), results_dir=str(tmp_path / "results"))
    queue = warm_queue(config)
    assert [q.user_attrs["warm_start"] for q in queue] == [f"old:{n}" for n in (5, 4, 3)][:TOP]
    study, _ = open_study(config, optuna.storages.InMemoryStorage(), resume=False, queue=queue)
    proposer = StudyProposer(study, spaces.get("resnext"), NEW, config, Placement(1, 0, 2))
    for number in (5, 4, 3):
        plan = proposer.ask()
        replayed = spaces.get("resnext")(optuna.trial.FixedTrial(earlier.trials[number].params), NEW)
        assert plan.spec == replayed and NEW.fits(plan.spec)
        assert study.trials[plan.number].user_attrs["warm_start"] == f"old:{number}"
    fresh = proposer.ask()  # then the sampler's own
    assert fresh.number == 3 and "warm_start" not in study.get_trials(deepcopy=False)[fresh.number].user_attrs


def test_a_study_of_another_space_or_without_complete_trials_is_refused(earlier, tmp_path):
    with pytest.raises(ValueError, match="a space can only replay parameters it sampled itself"):
        warm_queue(StudyConfig(space="resnet", warm_start=("old",), results_dir=str(tmp_path / "results")))
    df = results.load(tmp_path / "results" / "old")
    results.write(df.assign(state="PRUNED"), tmp_path / "results" / "pruned")
    with pytest.raises(ValueError, match="no complete trial"):
        warm_queue(StudyConfig(warm_start=("pruned",), results_dir=str(tmp_path / "results")))
