"""The Optuna side without Ray: samplers drive the spaces, the proposer tells Optuna the truth,
and the few Optuna internals the project relies on are still there."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

import spaces
from blocks import complexity
from search.config.study import StudyConfig
from search.study.optuna_study import StudyProposer, define_trial, epoch_rows, make_sampler, trial_rows
from search.config.resources import Placement
from search.config.schedule import ScheduleConfig
from search.config.train import TrainConfig

BUDGET = spaces.Budget(8, 1, 10, max_macs=2_000_000)

CPUS = Placement(1.0, 0.0, 2)  # where the trials would run


def test_no_private_optuna_module_is_imported_on_a_studys_path():
    """Module-level imports run for every study: only public Optuna there."""
    import ast
    from pathlib import Path

    import search.study.optuna_study as module

    tree = ast.parse(Path(module.__file__).read_text())
    top = [n.module for n in tree.body if isinstance(n, ast.ImportFrom)] + \
        [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in top if m and m.startswith("optuna") and "._" in m]


def test_the_private_trial_id_resuming_uses_is_still_there():
    """StudyProposer.ask re-opens a RUNNING trial of an interrupted driver by its _trial_id."""
    study = optuna.create_study()
    study.ask()
    assert hasattr(study.trials[0], "_trial_id"), "FrozenTrial._trial_id is gone (resuming RUNNING trials uses it)"


@pytest.mark.parametrize("sampler", ["tpe", "random", "nsga2", "gp", "qmc", "grid"])
@pytest.mark.parametrize("objectives", [1, 2])
def test_every_sampler_drives_the_define_by_run_space(sampler, objectives):
    if sampler == "qmc" and objectives == 2:
        pytest.skip("qmc is single-objective here")
    name = "resnext_templates" if sampler == "grid" else "resnext"
    grid = spaces.get(name).grid() if sampler == "grid" else None
    sampler = make_sampler(sampler, 0, 24, grid)
    study = optuna.create_study(directions=["maximize", "minimize"][:objectives], sampler=sampler)
    for i in range(12):  # past the grid's 5 points too: told without study.stop() raising
        trial = study.ask()
        plan = define_trial(trial, spaces.get(name), BUDGET, StudyConfig(), CPUS)
        macs = complexity(plan.spec, BUDGET.image_size).macs
        assert trial.user_attrs["macs"] == macs <= 2_000_000
        study.tell(trial, [0.5 + i / 100, macs][:objectives] if objectives == 2 else 0.5 + i / 100)
    assert len(study.get_trials(states=[optuna.trial.TrialState.COMPLETE])) == 12


def proposer(objectives=("accuracy",), stopped_as="pruned") -> StudyProposer:
    config = StudyConfig(objectives=objectives, schedule=ScheduleConfig(stopped_as=stopped_as), seed=5, train=TrainConfig(epochs=3))
    study = optuna.create_study(directions=["maximize", "minimize"][: len(objectives)])
    return StudyProposer(study, spaces.get("resnext"), BUDGET, config, CPUS)


def run(p: StudyProposer, accuracies, **last):
    plan = p.ask()
    results = [{"epochs": e + 1, "accuracy": a} for e, a in enumerate(accuracies)]
    for result in results:
        p.report(plan.number, result)
    p.tell(plan.number, {**results[-1], **last} if results else (last or None))
    return plan, p.study.trials[plan.number]


@pytest.mark.parametrize("accuracies, extra, state", [
    ([0.5, 0.6, 0.7], {}, TrialState.COMPLETE),  # its whole budget
    ([0.5], {}, TrialState.PRUNED),  # stopped by the scheduler
    ([0.5], {"error": "RuntimeError: boom"}, TrialState.FAIL),
    ([], {}, TrialState.FAIL),  # its worker died: no result at all
    ([0.5, 0.6, float("nan")], {}, TrialState.FAIL),
])
def test_the_proposer_tells_optuna_the_truth(accuracies, extra, state):
    plan, trial = run(proposer(), accuracies, **extra)
    assert trial.state == state and plan.seed == 5 + plan.number and plan.train.epochs == 3
    assert sorted(trial.intermediate_values) == list(range(1, len(accuracies) + 1))
    if state == TrialState.COMPLETE:
        assert trial.value == 0.7 and trial.user_attrs["epochs"] == 3
    if state == TrialState.FAIL:
        assert trial.user_attrs["error"]


def test_stopped_as_complete_and_costs_from_the_plan():
    plan, trial = run(proposer(objectives=("accuracy", "macs"), stopped_as="complete"), [0.4])
    assert trial.state == TrialState.COMPLETE and trial.values == [0.4, trial.user_attrs["macs"]]
    assert trial.user_attrs["macs"] == complexity(plan.spec, BUDGET.image_size).macs


def test_an_interrupted_trial_is_asked_again_under_its_number_with_its_parameters():
    first = proposer()
    plan = first.ask()  # then the driver dies: the trial stays RUNNING
    again = StudyProposer(first.study, spaces.get("resnext"), BUDGET, StudyConfig(), CPUS, stale=[first.study.trials[0]])
    assert again.ask().spec == plan.spec and again.ask().number == 1


def test_rows_carry_the_schema_columns_and_rays_own_error():
    p = proposer()
    run(p, [0.5], error="RuntimeError: boom")
    p.record_error(0, "RayTaskError: worker died")
    (row,) = trial_rows(p.study)
    assert row["state"] == "FAIL" and row["error"] == "RayTaskError: worker died" and row["macs"] > 0


def test_epoch_rows_add_up_and_a_runs_first_report_replaces_them():
    from search.results import schema

    p = proposer()
    plan = p.ask()

    def report(epoch, history=None):
        result = {"epochs": epoch, "accuracy": 0.5, "val_accuracy": 0.1 * epoch}
        p.report(plan.number, result if history is None else {**result, schema.HISTORY: history})
        return schema.epoch_row(result)

    rows = [report(1, []), report(2), report(3)]
    assert [r["epoch"] for r in epoch_rows(p.study.trials)] == [1, 2, 3]
    report(2, rows[:1])  # a run resumed from its checkpoint at epoch 1: what that checkpoint holds stands
    assert [r["epoch"] for r in epoch_rows(p.study.trials)] == [1, 2]
    report(1, [])  # restarted from scratch (a corrupt checkpoint): nothing of the old run lingers
    assert [(r["trial"], r["epoch"]) for r in epoch_rows(p.study.trials)] == [(plan.number, 1)]
    assert schema.epoch_row({"epoch": 1, "val_accuracy": 0.3}) is None  # a record without today's key


@pytest.mark.parametrize("name", ["random", "tpe", "qmc", "nsga2"])
def test_the_seed_changes_what_a_sampler_proposes(name):
    """QMC included: unscrambled, every seed would draw the same Sobol sequence."""
    def first_points(seed: int) -> list[float]:
        study = optuna.create_study(sampler=make_sampler(name, seed, 24))
        for _ in range(3):
            trial = study.ask()
            study.tell(trial, trial.suggest_float("x", 0, 1))
        return [t.params["x"] for t in study.trials]

    assert first_points(0)[1:] != first_points(1)[1:]  # (its first is sampled independently)


@pytest.mark.parametrize("url, masked", [
    ("postgresql://alice:s3cret@db:5432/optuna", "postgresql://alice:***@db:5432/optuna"),
    ("postgresql://alice:s3c@ret@db/optuna", "postgresql://alice:***@db/optuna"),  # '@' inside the password
    ("postgresql://alice@db/optuna?password=s3cret", "postgresql://alice@db/optuna?password=***"),
    ("mysql://a:s3cret@h/d?sslmode=x&PASSWORD=s3cret", "mysql://a:***@h/d?sslmode=x&PASSWORD=***"),
    ("s3://bucket/path?access_key=AK&secret_key=s3cret", "s3://bucket/path?access_key=***&secret_key=***"),
    ("sqlite:////tmp/a@b/optuna.db", "sqlite:////tmp/a@b/optuna.db"),  # an '@' in a path is no credential
    ("sqlite:///results/x/optuna.db", "sqlite:///results/x/optuna.db"),
])
def test_every_credential_in_a_url_is_masked(url, masked):
    from search.study.optuna_study import mask_password

    assert mask_password(url) == masked and "s3cret" not in mask_password(url)
