"""--start-from: which hand designs a new study runs first; ``auto`` (the default) queues them only
where they teach a sampler and leave room to search."""

from __future__ import annotations

import optuna
import pytest

import spaces
from budgets import BUDGETS
from search.config.resources import Placement
from search.config.study import StudyConfig
from search.core.errors import StudyError
from search.study.optuna_study import StudyProposer, open_study
from search.config.train import TrainConfig
from search.study import warm_start
from search.study.warm_start import design_queue, first_trials
from search.training.plan import QueuedTrial
from spaces.designs import DESIGNS
from spaces.refined import Range, refine

CIFAR = BUDGETS["cifar-10M"]


def queued(budget: spaces.Budget = CIFAR, space: str = "resnext", **fields) -> list[str]:
    config = StudyConfig(space=space, **fields)
    return [q.user_attrs["design"] for q in design_queue(config, spaces.get(config.space), budget)]


@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
def test_the_default_study_runs_every_hand_design_first(budget):
    assert StudyConfig().start_from == "auto"
    assert queued(budget) == list(DESIGNS)


@pytest.mark.parametrize("sampler", ["random", "qmc"])
def test_auto_leaves_a_sampler_that_does_not_learn_alone(sampler):
    assert queued(sampler=sampler) == []  # random search stays random search, the control it is meant to be
    assert queued(sampler=sampler, start_from="hand") == list(DESIGNS)  # asked for by name, they run


@pytest.mark.parametrize("sampler", ["tpe", "gp", "nsga2"])
def test_auto_teaches_every_sampler_that_learns(sampler):
    assert queued(sampler=sampler) == list(DESIGNS)


@pytest.mark.parametrize(("trials", "repeats", "expected"), [
    (2 * len(DESIGNS), 1, len(DESIGNS)), (2 * len(DESIGNS) - 1, 1, 0), (4 * len(DESIGNS), 2, len(DESIGNS)),
    (4 * len(DESIGNS) - 1, 2, 0)])
def test_auto_queues_the_designs_only_when_they_take_at_most_half_the_trials(trials, repeats, expected):
    assert len(queued(trials=trials, repeats=repeats)) == expected


def test_auto_skips_a_space_that_cannot_state_them_where_a_named_request_is_refused():
    assert queued(space="resnext_v1") == []
    with pytest.raises(StudyError, match="cannot state a network as its parameters"):
        queued(space="resnext_v1", start_from="hand")


@pytest.mark.parametrize("start_from", ["none", ""])
def test_none_queues_nothing(start_from):
    assert queued(start_from=start_from) == []  # "": what a study.json written before auto holds


def test_auto_skips_the_designs_a_refined_space_has_left_out():
    space = refine(spaces.get("resnext_v3"), {"stages": Range(3, 4)})  # ResNet-9 pools into 3 stages; keep them
    kept = [d for d in DESIGNS if len(DESIGNS[d].spec(CIFAR).stages) >= 3]
    config = StudyConfig(space="resnext_v3")
    names = [q.user_attrs["design"] for q in design_queue(config, space, CIFAR)]
    assert names == kept and len(kept) > 0


def test_auto_skips_the_designs_the_budget_cannot_fit():
    tiny = spaces.Budget.from_millions(32, 3, 10, 0, 1)
    fits = []
    for name, design in DESIGNS.items():
        try:
            design.spec(tiny)
            fits.append(name)
        except spaces.BudgetError:
            pass
    assert 0 < len(fits) < len(DESIGNS), "the test needs a budget that fits some designs and not others"
    assert queued(tiny) == fits


def test_the_queued_designs_are_the_studys_first_trials_then_the_sampler_takes_over():
    config = StudyConfig()
    space = spaces.get(config.space)
    study, _ = open_study(config, optuna.storages.InMemoryStorage(), resume=False,
                          queue=design_queue(config, space, CIFAR))
    proposer = StudyProposer(study, space, CIFAR, config, Placement(1, 0, 2))
    plans = [proposer.ask() for _ in range(len(DESIGNS) + 1)]
    assert [p.spec for p in plans[:-1]] == [d.spec(CIFAR) for d in DESIGNS.values()]
    assert [t.user_attrs.get("design") for t in study.get_trials(deepcopy=False)] == [*DESIGNS, None]


@pytest.mark.parametrize(("budget_epochs", "queues"), [(60, False), (300, True)])
def test_with_an_epoch_budget_half_means_half_the_trials_it_buys(budget_epochs, queues):
    config = StudyConfig(budget_epochs=budget_epochs, trials=budget_epochs, train=TrainConfig(epochs=10))
    assert (2 * len(DESIGNS) <= config.expected_trials) == queues  # --trials is only a cap here
    assert bool(queued(budget_epochs=budget_epochs, trials=budget_epochs, train=TrainConfig(epochs=10))) == queues


def test_each_seed_of_a_design_is_marked_as_that_design():
    config = StudyConfig(repeats=2, trials=4 * len(DESIGNS))
    space = spaces.get(config.space)
    study, _ = open_study(config, optuna.storages.InMemoryStorage(), resume=False,
                          queue=design_queue(config, space, CIFAR))
    proposer = StudyProposer(study, space, CIFAR, config, Placement(1, 0, 2))
    plans = [proposer.ask() for _ in range(2 * len(DESIGNS))]
    marks = [t.user_attrs.get("design") for t in study.get_trials(deepcopy=False)]
    for name, design in DESIGNS.items():
        seeds = [p for p, mark in zip(plans, marks) if mark == name]
        assert [p.spec for p in seeds] == [design.spec(CIFAR)] * 2 and seeds[0].seed != seeds[1].seed


def test_a_warm_start_that_repeats_a_queued_design_is_not_queued_twice(monkeypatch):
    config = StudyConfig()
    designs = design_queue(config, spaces.get(config.space), CIFAR)
    other = QueuedTrial({**designs[0].params, "stem_units": 1}, {"warm_start": "old:4"})
    monkeypatch.setattr(warm_start, "warm_queue", lambda _: (QueuedTrial(designs[2].params, {"warm_start": "old:2"}), other))
    assert first_trials(config, spaces.get(config.space), CIFAR) == designs + (other,)
