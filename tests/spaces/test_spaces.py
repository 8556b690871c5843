"""Spaces: valid by construction, within budget, replayable, deterministic, pure."""

from __future__ import annotations

import random

import optuna
import pytest
import torch

import spaces
from blocks import NetSpec, StageSpec, build, complexity
from spaces import Budget, BudgetError, check_budget, get
from spaces.budget import compatible_cardinality, compatible_group_width
from search.describe import main as describe_main

optuna.logging.set_verbosity(optuna.logging.WARNING)

BUDGETS = {
    "digits": Budget(image_size=8, in_channels=1, max_macs=5_000_000),
    "cifar": Budget(image_size=32, min_macs=5_000_000, max_macs=50_000_000, max_params=2_000_000),
}
CHECKED = ["resnet", "resnext", "anynet", "anynetx_e"]


def sample(name: str, budget: Budget, sampler: optuna.samplers.BaseSampler, n: int):
    """n (params, spec) pairs from a study whose objective favours large networks, so TPE moves."""
    space, study, out = get(name), optuna.create_study(sampler=sampler, direction="maximize"), []
    for _ in range(n):
        trial = study.ask()
        spec = space(trial, budget)
        out.append((trial.params, spec))
        study.tell(trial, complexity(spec, budget.image_size).macs)
    return study, out


def assert_valid(name: str, budget: Budget, pairs) -> None:
    space = get(name)
    for params, spec in pairs:
        assert isinstance(spec, NetSpec)
        assert budget.fits(spec), (params, spec)
        assert (spec.in_channels, spec.num_classes) == (budget.in_channels, budget.num_classes)
        assert space(optuna.trial.FixedTrial(params), budget) == spec
        assert all("/" not in key for key in params)
    for params, spec in random.Random(0).sample(pairs, 5):  # tests/blocks/test_complexity.py checks more shapes
        assert sum(p.numel() for p in build(spec).parameters()) == complexity(spec, budget.image_size).params


@pytest.mark.parametrize("budget_name", BUDGETS)
@pytest.mark.parametrize("name", CHECKED)
def test_random_samples_are_valid_within_budget_and_replay(name, budget_name):
    budget = BUDGETS[budget_name]
    _, pairs = sample(name, budget, optuna.samplers.RandomSampler(seed=1), 120)
    assert_valid(name, budget, pairs)


@pytest.mark.parametrize("name", CHECKED)
def test_tpe_samples_are_valid_within_budget_and_replay(name):
    budget = BUDGETS["cifar"]
    study, pairs = sample(name, budget, optuna.samplers.TPESampler(seed=2, n_startup_trials=15), 50)
    assert_valid(name, budget, pairs)
    choices: dict[str, object] = {}
    for trial in study.trials:  # the same name always offers the same choices
        for key, dist in trial.distributions.items():
            assert choices.setdefault(key, dist) == dist, key
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                assert all(type(c) in (int, float, str) for c in dist.choices)


@pytest.mark.parametrize("name", CHECKED)
def test_same_seed_same_specs(name):
    runs = [sample(name, BUDGETS["cifar"], optuna.samplers.TPESampler(seed=7, n_startup_trials=5), 20)[1] for _ in range(2)]
    assert [s for _, s in runs[0]] == [s for _, s in runs[1]]


def test_per_stage_parameters_exist_only_for_sampled_stages():
    _, pairs = sample("resnext_v1", BUDGETS["cifar"], optuna.samplers.RandomSampler(seed=3), 200)
    assert {p["stages"] for p, _ in pairs} == {1, 2, 3, 4}
    for params, spec in pairs:
        assert len(spec.stages) == params["stages"]
        assert {k for k in params if k.startswith("cardinality_")} == {f"cardinality_{i}" for i in range(1, params["stages"] + 1)}


def test_resnext_covers_dense_and_32_or_more_groups():
    for budget in BUDGETS.values():
        _, pairs = sample("resnext", budget, optuna.samplers.RandomSampler(seed=4), 300)
        cards = {s.max_cardinality for _, s in pairs}
        assert 1 in cards and max(cards) >= 32
        assert cards <= set(spaces.resnext.CARDINALITIES)


def test_stages_and_strides_fit_the_image():
    assert Budget(image_size=8).max_stages == 3
    assert Budget(image_size=32).max_stages == 4
    assert Budget(image_size=224).stem == "imagenet"
    _, pairs = sample("anynet", Budget(image_size=8, in_channels=1), optuna.samplers.RandomSampler(seed=5), 50)
    assert {len(s.stages) for _, s in pairs} == {3}


def test_anynetx_constraints():
    _, pairs = sample("anynetx_e", BUDGETS["cifar"], optuna.samplers.RandomSampler(seed=6), 200)
    for params, spec in pairs:
        assert "bottleneck_ratio" in params and "group_width" in params and "group_width_1" not in params
        assert len({s.bottleneck_ratio for s in spec.stages}) == 1
        widths, depths = [s.width for s in spec.stages], [s.depth for s in spec.stages]
        assert depths == sorted(depths) and widths == sorted(widths)


def test_spaces_build_no_modules(monkeypatch):
    def forbidden(*_args, **_kwargs):
        raise AssertionError("a space built a torch module")

    monkeypatch.setattr(torch.nn.Module, "__init__", forbidden)
    for name in spaces.SPACES:
        sample(name, BUDGETS["cifar"], optuna.samplers.RandomSampler(seed=8), 5)


@pytest.mark.parametrize("width", [8, 24, 40, 96, 200, 1000])
@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.75, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("group", [1, 3, 8, 32, 64])
def test_compatibility_repairs_always_divide(width, ratio, group):
    w, c = compatible_cardinality(width, ratio, group)
    assert round(w * ratio) % c == 0 and c <= group
    w, c = compatible_group_width(width, ratio, group)
    assert round(w * ratio) % c == 0


def test_user_space_by_module_and_function(tmp_path, monkeypatch):
    (tmp_path / "myspaces.py").write_text(
        "from blocks import NetSpec, StageSpec\n"
        "def tiny(trial, budget):\n"
        "    w = trial.suggest_categorical('width', [8, 16])\n"
        "    return NetSpec((StageSpec(1, w),), in_channels=budget.in_channels, num_classes=budget.num_classes)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    space = get("myspaces:tiny")
    check_budget(space, Budget())
    assert space(optuna.trial.FixedTrial({"width": 16}), Budget()).stages[0].width == 16


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: get("nope"), ["unknown space 'nope'", "resnext"]),
        (lambda: get("os:no_such_function"), ["no callable 'no_such_function'"]),
        (lambda: get("no_such_module:f"), ["cannot import module 'no_such_module'"]),
        (lambda: get(""), ["space must be a name"]),
        (lambda: check_budget(get("resnext"), Budget(image_size=8, max_macs=1_000)), ["no network", "widen"]),
        (lambda: check_budget(get("resnet"), Budget(image_size=32, min_macs=10**13)), ["no network"]),
        (lambda: Budget(image_size=1), ["image_size"]),
        (lambda: Budget(max_macs=5, min_macs=10), ["max_macs is below", "min_macs"]),
        (lambda: Budget(num_classes=1), ["num_classes"]),
        (lambda: check_budget(lambda trial, budget: 1 / 0, Budget()), ["the space raised ZeroDivisionError"]),
        (lambda: check_budget(lambda trial, budget: "net", Budget()), ["returned str, not a NetSpec"]),
        (lambda: check_budget(lambda trial, budget: NetSpec((StageSpec(1, 8),), in_channels=3, num_classes=1000),
                              Budget(in_channels=1, num_classes=10)), ["3 channel(s) and 1000 classes", "has 1 and 10"]),
    ],
)
def test_bad_input_names_the_problem(call, words):
    with pytest.raises(ValueError) as err:
        call()
    assert all(w in str(err.value) for w in words) and "\n" not in str(err.value)


def test_impossible_budget_is_a_budget_error():
    with pytest.raises(BudgetError):
        check_budget(get("anynet"), Budget(image_size=32, max_params=100))


def test_describe_prints_size_and_complexity(capsys):
    assert describe_main(["resnext", "--image-size", "32", "--max-mmacs", "50", "--samples", "300"]) == 0
    out = capsys.readouterr().out
    assert "log10" in out and "MACs M" in out and "params M" in out and "32: " in out


@pytest.mark.parametrize(
    "argv",
    [["nope"], ["resnext", "--max-mmacs", "0.0001"], ["resnext", "--image-size", "x"], ["resnext", "--samples", "0"], ["a.b:c"]],
)
def test_describe_bad_input_one_line_exit_2(argv, capsys):
    try:
        code = describe_main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("budget_name", BUDGETS)
def test_resnext_v2_widths_and_depths_never_fall_and_floors_hold(budget_name):
    budget = BUDGETS[budget_name]
    _, pairs = sample("resnext_v2", budget, optuna.samplers.RandomSampler(seed=8), 100)
    assert_valid("resnext_v2", budget, pairs)
    for params, spec in pairs:
        widths, depths = [s.width for s in spec.stages], [s.depth for s in spec.stages]
        assert widths == sorted(widths) and depths == sorted(depths) and len(spec.stages) == budget.max_stages
        cards = [s.cardinality for s in spec.stages]  # one sampled; capped in a stage too narrow for it
        assert len({s.bottleneck_ratio for s in spec.stages}) == 1 and cards == sorted(cards)
        assert cards[-1] <= params["cardinality"]
        assert min(s.bottleneck_width for s in spec.stages) >= 8 and min(s.group_width for s in spec.stages) >= 2
    assert {s.max_cardinality for _, s in pairs} >= {1, 32}
