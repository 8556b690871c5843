"""The Space protocol and its declared capabilities (grid, configurations), and who asks for them."""

from __future__ import annotations

import importlib
import pkgutil

import optuna
import pytest

import spaces
from blocks import NetSpec, StageSpec
from spaces import SPACES, Budget, CountableSpace, GridSpace, Space, grid_of
from spaces.summary import describe

optuna.logging.set_verbosity(optuna.logging.WARNING)


def plain(trial, budget):
    """A user's space as the README shows it: a bare function, with no capabilities."""
    width = trial.suggest_categorical("width", [8, 16])
    return NetSpec((StageSpec(1, width),), in_channels=budget.in_channels, num_classes=budget.num_classes)


class Counted:
    """A space that declares its size (and, through ``grid``, that it withholds a grid)."""

    grid = None  # a capability set to None is not offered

    def __call__(self, trial, budget):
        return plain(trial, budget)

    def configurations(self, budget):
        return 2


class Gridded(Counted):
    def grid(self):
        return {"width": [8, 16]}


def test_builtin_spaces_declare_what_they_offer():
    assert all(isinstance(s, Space) and isinstance(s, CountableSpace) for s in SPACES.values())
    assert [n for n, s in SPACES.items() if isinstance(s, GridSpace)] == ["resnext_templates", "hand_designs"]


@pytest.mark.parametrize("space, countable, gridded", [(plain, False, False), (Counted(), True, False), (Gridded(), True, True)])
def test_a_user_space_offers_exactly_the_capabilities_it_defines(space, countable, gridded):
    assert isinstance(space, Space)
    assert (isinstance(space, CountableSpace), isinstance(space, GridSpace)) == (countable, gridded)


def test_grid_of_asks_the_grid_protocol():
    assert grid_of(Gridded(), "gridded") == {"width": [8, 16]}
    for space in (plain, Counted()):
        with pytest.raises(ValueError, match="space 'mine' declares no grid of choices; these do: resnext_templates, hand_designs$"):
            grid_of(space, "mine")


def test_the_summary_counts_a_space_only_when_it_declares_configurations(monkeypatch):
    monkeypatch.setitem(SPACES, "plain", plain)
    monkeypatch.setitem(SPACES, "counted", Counted())
    counted, bare = (describe(name, Budget(), samples=20) for name in ("counted", "plain"))
    assert "parameter settings (before budget repairs): 2 " in counted and "parameter settings" not in bare
    assert "distinct architectures in 20 random samples: 2" in counted and "MACs M" in bare


def test_spaces_live_in_the_registry_not_as_module_level_instances():
    """One instance per space, in SPACES: a second one per module could drift from the registered one."""
    for info in pkgutil.iter_modules(spaces.__path__):
        module = importlib.import_module(f"spaces.{info.name}")
        loose = [n for n, v in vars(module).items() if isinstance(v, Space) and type(v).__module__.startswith("spaces.")]
        assert not loose, f"spaces.{info.name} holds {loose}"
