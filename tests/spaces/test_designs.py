"""The hand designs: every one fits each budget by the stated rule, spending it, and is what it
says it is."""

from __future__ import annotations

import pytest

from blocks import build, complexity
from budgets import BUDGETS
from spaces import Budget, BudgetError
from spaces.designs import DESIGNS, WIDTH_SCALES, Shape, get



@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
@pytest.mark.parametrize("name", DESIGNS)
def test_every_design_fits_every_budget_and_spends_most_of_it(name, budget):
    spec = DESIGNS[name].spec(budget)
    macs = complexity(spec, budget.image_size).macs
    assert budget.fits(spec) and macs >= 0.6 * budget.max_macs, macs
    assert (spec.in_channels, spec.num_classes, spec.stem) == (budget.in_channels, budget.num_classes, budget.stem)


@pytest.mark.parametrize("name", [n for n, d in DESIGNS.items() if isinstance(d, Shape)])
def test_a_shape_takes_the_widest_step_under_the_maximum(name):
    design, budget = DESIGNS[name], BUDGETS["cifar-10M"]
    spec, draft = design.spec(budget), design._draft(budget)
    step = max(i for i, s in enumerate(WIDTH_SCALES) if draft(s, 1.0) == spec)  # steps may round alike
    assert budget.violation(draft(WIDTH_SCALES[step + 1], 1.0)) == "over"  # one step wider is over


def test_the_designs_keep_their_shapes():
    budget = BUDGETS["cifar-50M"]
    resnet20, resnet9 = DESIGNS["resnet20"].spec(budget), DESIGNS["resnet9"].spec(budget)
    assert [s.depth for s in resnet20.stages] == [3, 3, 3] and {s.block for s in resnet20.stages} == {"basic"}
    assert [(s.depth, s.downsample) for s in resnet9.stages] == [(1, "pool"), (0, "pool"), (1, "pool")]
    assert resnet9.stages[2].width > 2 * resnet9.stages[0].width  # wide late stages
    assert DESIGNS["resnext29_32x4d"].spec(budget).max_cardinality == 32


def test_a_fitted_design_builds_and_counts_as_built():
    budget = BUDGETS["cifar-10M"]
    for design in DESIGNS.values():
        spec = design.spec(budget)
        assert complexity(spec, 32).params == sum(p.numel() for p in build(spec).parameters())


def test_a_budget_no_design_can_spend_is_refused():
    with pytest.raises(BudgetError, match="'resnet8' cannot be fitted"):
        DESIGNS["resnet8"].spec(Budget.from_millions(32, 3, 10, 400, 401))


@pytest.mark.parametrize("names, expected", [("hand", list(DESIGNS)), ("resnet9, basic3", ["resnet9", "basic3"]),
                                             ("resnet8,resnet8", ["resnet8"])])
def test_designs_are_chosen_by_name(names, expected):
    assert [d.name for d in get(names)] == expected


@pytest.mark.parametrize("names", ["resnet50", "resnet8,nope", ""])
def test_an_unknown_design_is_one_line(names):
    with pytest.raises(ValueError, match="unknown hand design") as err:
        get(names)
    assert "\n" not in str(err.value)
