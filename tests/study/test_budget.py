"""The epoch budget: spent from every epoch reported, running trials' next rungs committed, and a
new trial proposed only where its first rung fits."""

from __future__ import annotations

import pytest

from search.config.schedule import ScheduleConfig
from search.config.study import StudyConfig
from search.config.train import TrainConfig
from search.study.budget import Decision, EpochBudget

ASHA = ScheduleConfig()  # rungs at 3 and 9 of 10 epochs


def test_no_budget_always_proposes():
    budget = EpochBudget(0, 10, ASHA)
    budget.opened(0)
    assert budget.decide() is Decision.PROPOSE and budget.describe() == ""


def test_a_running_trial_commits_its_next_rung_and_a_new_one_its_first():
    budget = EpochBudget(12, 10, ASHA)
    budget.opened(0)  # commits 3
    budget.opened(1)  # commits 3: 6 committed, 6 left, a third fits
    assert budget.decide() is Decision.PROPOSE
    budget.opened(2)  # 9 committed, 3 left: a fourth still fits
    budget.opened(3)
    assert budget.decide() is Decision.WAIT  # 12 committed
    for n in range(4):
        budget.ran(n, 3)
    budget.closed(0), budget.closed(1)  # stopped at the first rung
    assert budget.spent == 12 and budget.decide() is Decision.WAIT  # two still run: towards rung 9
    budget.closed(2), budget.closed(3)
    assert budget.decide() is Decision.DONE and budget.describe() == "epochs 12/12"


def test_a_resumed_budget_counts_what_was_spent_and_a_resumed_trial_from_where_it_stood():
    budget = EpochBudget(30, 10, ASHA, spent=20)  # 20 epochs recorded, 4 of them by a trial still running
    budget.opened(7, done=4)  # its next rung is 9: 5 more committed
    assert budget.spent == 20 and budget.decide() is Decision.PROPOSE  # 30 - 20 - 5 = 5 >= 3
    budget.opened(8)
    assert budget.decide() is Decision.WAIT


@pytest.mark.parametrize("schedule, epochs, rungs, per_trial", [
    (ScheduleConfig(), 10, (3, 9, 10), 3 + 6 / 3 + 1 / 9),
    (ScheduleConfig(scheduler="fifo"), 10, (10,), 10),
    (ScheduleConfig(grace_period=1, reduction_factor=2), 6, (1, 2, 4, 6), 1 + 1 / 2 + 2 / 4 + 2 / 8),
])
def test_the_schedule_says_its_rungs_and_what_a_trial_costs_on_average(schedule, epochs, rungs, per_trial):
    assert schedule.rungs(epochs) == rungs and schedule.epochs_per_trial(epochs) == pytest.approx(per_trial)


def test_a_budget_becomes_the_trials_it_buys_within_the_cap():
    config = StudyConfig(budget_epochs=120, trials=120, train=TrainConfig(epochs=10))
    assert config.expected_trials == round(120 / (3 + 2 + 1 / 9))
    assert StudyConfig(budget_epochs=120, trials=10, train=TrainConfig(epochs=10)).expected_trials == 10
    with pytest.raises(ValueError, match="--budget-epochs 5 cannot train one trial of 10 epochs"):
        StudyConfig(budget_epochs=5, train=TrainConfig(epochs=10))


def test_what_the_budget_bought_is_said_from_the_table():
    import pandas as pd

    from search.study.budget import bought

    table = pd.DataFrame({"state": ["COMPLETE", "PRUNED", "PRUNED", "PRUNED", "FAIL", "RUNNING"],
                          "epochs": [10, 3, 3, 9, 1, 2]})
    assert bought(table, 10) == ("the budget bought 4 trials for 25 trial-epochs: 1 trained all 10 epochs, "
                                 "3 stopped early (2 after 3, 1 after 9)")
