"""resnext_v3 and its refinement resnext_v4 (the default): every hand design is a point of each,
and their samples spend the budget."""

from __future__ import annotations

import optuna
import pytest

from blocks import complexity
from budgets import BUDGETS
import spaces
from spaces import SPACES, ReplayableSpace
from spaces.designs import DESIGNS
from spaces.resnext_v3 import SPEND
from spaces.resnext_v4 import RANGES

NAMES = ("resnext_v3", "resnext_v4")


@pytest.mark.parametrize("space", NAMES)
@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
@pytest.mark.parametrize("name", DESIGNS)
def test_every_hand_design_is_a_point_of_the_space(name, budget, space):
    spec, SPACE = DESIGNS[name].spec(budget), SPACES[space]
    assert isinstance(SPACE, ReplayableSpace)
    params = SPACE.params_of(spec)  # refused if the design lies outside a refined range
    assert SPACE(optuna.trial.FixedTrial(params), budget) == spec


@pytest.mark.parametrize("space", NAMES)
@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
def test_samples_fit_and_spend_the_budget(budget, space):
    SPACE = SPACES[space]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    shares = sorted(complexity(SPACE(study.ask(), budget), budget.image_size).macs / budget.max_macs for _ in range(150))
    assert shares[-1] <= 1 and shares[len(shares) // 10] >= SPEND  # at least 90% spend half the budget or more
    assert shares[0] > 0.25


@pytest.mark.parametrize("space", NAMES)
def test_shallow_wide_basic_networks_and_pooled_stages_are_common(space):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    specs = [SPACES[space](study.ask(), BUDGETS["cifar-10M"]) for _ in range(200)]
    assert sum(len(s.stages) <= 2 for s in specs) > 40
    assert sum(any(st.block == "basic" for st in s.stages) for s in specs) > 100
    assert sum(any(st.downsample == "pool" for st in s.stages) for s in specs) > 100
    assert sum(s.max_cardinality > 1 for s in specs) > 50  # grouping stays the subject


def test_the_default_is_resnext_v4_which_keeps_to_its_refined_ranges():
    assert spaces.get("resnext") is SPACES["resnext_v4"] and spaces.canonical("resnext") == "resnext_v4"
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=4))
    for _ in range(100):
        trial = study.ask()
        spec = SPACES["resnext_v4"](trial, BUDGETS["cifar-10M"])
        assert all(r.keeps(trial.params[n]) for n, r in RANGES.items()) and len(spec.stages) >= 2


def test_a_network_outside_the_refined_ranges_is_not_a_point_of_it():
    one_stage = SPACES["resnext_v3"](optuna.trial.FixedTrial(
        {"stages": 1, "stem_units": 2, "stride_1": 2, "downsample_1": "stride", "depth_1": 1, "width_units_1": 4,
         "block_1": "basic"}), BUDGETS["cifar-10M"])
    with pytest.raises(ValueError, match="stages=1, outside the refined space"):
        SPACES["resnext_v4"].params_of(one_stage)
