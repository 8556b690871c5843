"""resnext_v3: every hand design is a point of it, and its samples spend the budget."""

from __future__ import annotations

import optuna
import pytest

from blocks import complexity
from budgets import BUDGETS
from spaces import SPACES, ReplayableSpace
from spaces.designs import DESIGNS
from spaces.resnext_v3 import SPEND

SPACE = SPACES["resnext_v3"]


@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
@pytest.mark.parametrize("name", DESIGNS)
def test_every_hand_design_is_a_point_of_the_space(name, budget):
    spec = DESIGNS[name].spec(budget)
    assert isinstance(SPACE, ReplayableSpace)
    assert SPACE(optuna.trial.FixedTrial(SPACE.params_of(spec)), budget) == spec


@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
def test_samples_fit_and_spend_the_budget(budget):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    shares = sorted(complexity(SPACE(study.ask(), budget), budget.image_size).macs / budget.max_macs for _ in range(150))
    assert shares[-1] <= 1 and shares[len(shares) // 10] >= SPEND  # at least 90% spend half the budget or more
    assert shares[0] > 0.25


def test_shallow_wide_basic_networks_and_pooled_stages_are_common():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    specs = [SPACE(study.ask(), BUDGETS["cifar-10M"]) for _ in range(200)]
    assert sum(len(s.stages) <= 2 for s in specs) > 40
    assert sum(any(st.block == "basic" for st in s.stages) for s in specs) > 100
    assert sum(any(st.downsample == "pool" for st in s.stages) for s in specs) > 100
    assert sum(s.max_cardinality > 1 for s in specs) > 50  # grouping stays the subject
