"""The one module that imports Optuna: samplers, storage, the study and what it is told, table
rows. The Optuna storage is the single source of truth: a trial is finished when Optuna says
COMPLETE, PRUNED or FAIL, and its whole results row is stored on it before it is told. A resumed
study hands the trials an interrupted driver left RUNNING back first (same number, same
parameters), then asks the sampler for new ones."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import optuna
import pandas as pd
from optuna.trial import TrialState

import spaces

from search.config.resources import Placement
from search.config.study import StudyConfig
from search.core.masking import mask_password
from search.results import schema, tables as results
from search.study.budget import Decision, EpochBudget
from search.training.plan import QueuedTrial, TrialPlan, make_plan, plan_columns

FINISHED = tuple(TrialState[name] for name in schema.FINISHED)
HISTORY_ATTR = "epoch_history"  # a trial's epochs-table rows, {epoch: row}, stored as each epoch is reported
QUEUED_MARKS = ("design", "warm_start")  # where a queued trial came from; its repeats come from there too


def quiet() -> None:
    """Optuna's warnings only: no line per trial or per study created."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_sampler(name: str, seed: int, trials: int, grid: dict[str, list] | None = None) -> optuna.samplers.BaseSampler:
    """GP and QMC sample the per-stage parameters that only some networks have at random
    (Optuna's fallback for dynamic spaces); TPE's ``group`` mode models them. ``grid``: the
    space's choices, for the grid sampler."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _sampler(name, seed, trials, grid)


def _sampler(name: str, seed: int, trials: int, grid: dict[str, list] | None) -> optuna.samplers.BaseSampler:
    if name == "grid":
        return StudyGridSampler(grid or {}, seed=seed)
    if name == "tpe":  # models after a quarter of the expected trials (3..10), never most of a small study
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                          n_startup_trials=min(10, max(3, trials // 4)))
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(50, trials // 4)))
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
    # scrambled, or every seed would draw the same Sobol sequence
    return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The Optuna storage at ``url``; ValueError (password masked) when it cannot be reached."""
    try:
        return optuna.storages.get_storage(url)
    except Exception as err:
        raise ValueError(f"cannot open storage {mask_password(url)}: {type(err).__name__}") from None


def study_exists(storage: optuna.storages.BaseStorage, name: str) -> bool:
    return any(s.study_name == name for s in storage.get_all_studies())


def stored_finished(storage: optuna.storages.BaseStorage, name: str) -> int | None:
    """Finished trials the storage holds for study ``name``; None when it holds no such study."""
    if not study_exists(storage, name):
        return None
    return finished_count(optuna.load_study(study_name=name, storage=storage))


def stored_config(storage: optuna.storages.BaseStorage, name: str) -> str | None:
    """The StudyConfig JSON a study keeps in its storage, if the storage holds that study."""
    match = [s for s in storage.get_all_studies() if s.study_name == name]
    return match[0].user_attrs.get("config") if match else None


class StudyGridSampler(optuna.samplers.GridSampler):
    """GridSampler for ask-and-tell: Optuna's own calls ``study.stop()`` once the grid is
    exhausted, which raises outside ``study.optimize`` (and reads a ``grid_id`` that queued
    repeats lack). The study's ``--trials`` (the grid's size x repeats) bounds it instead."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


def open_study(config: StudyConfig, storage: optuna.storages.BaseStorage, resume: bool,
               grid: dict[str, list] | None = None, queue: Sequence[QueuedTrial] = ()) -> tuple[optuna.Study, list]:
    """Open (or create) the Optuna study; the trials an interrupted driver left running."""
    directions = ["maximize" if m == "max" else "minimize" for m in config.metric_modes[1]]
    study = optuna.create_study(
        storage=storage, study_name=config.name, directions=directions, load_if_exists=resume,
        sampler=make_sampler(config.sampler, config.seed, config.expected_trials, grid),
    )
    if not resume:  # the config travels with the storage, so another machine can resume from it
        shared = replace(config, storage=None)  # no password in the database
        for key, value in (("space", config.space), ("dataset", config.dataset), ("config", shared.to_json())):
            study.set_user_attr(key, value)
    if queue and not study.get_trials(deepcopy=False):  # also when a first run died before it asked any
        for queued in queue:
            study.enqueue_trial(queued.params, user_attrs=queued.user_attrs)
    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    return study, stale  # (WAITING trials, queued repeats, are popped by study.ask() itself)


def finished_count(study: optuna.Study) -> int:
    return sum(t.state in FINISHED for t in study.get_trials(deepcopy=False))


def seconds_spent(study: optuna.Study, add: float = 0.0) -> float:
    """Wall-clock seconds the study's runs have taken (``--time-budget``), ``add`` more first."""
    spent = float(study.user_attrs.get("seconds_spent", 0.0)) + add
    if add:
        study.set_user_attr("seconds_spent", spent)
    return spent


def spent_epochs(study: optuna.Study) -> int:
    """Trial-epochs the study's trials have run, from their recorded epochs."""
    return sum(len(t.user_attrs.get(HISTORY_ATTR, {})) for t in study.get_trials(deepcopy=False))


def define_trial(trial: optuna.Trial, space: spaces.Space, budget: spaces.Budget, config: StudyConfig,
                 placement: Placement) -> TrialPlan:
    """Define-by-run: sample a spec, store the columns it decides on the Optuna trial, and plan
    the trial."""
    plan = make_plan(config, placement, trial.number, space(trial, budget))
    for key, value in plan_columns(plan, budget.image_size).items():
        trial.set_user_attr(key, value)
    return plan


class StudyProposer:
    """Asks Optuna for trials (an interrupted driver's first) and tells it the truth about each:
    a trial stopped by the scheduler before its epoch budget is PRUNED (with its per-epoch
    values), only a full run is COMPLETE, a trial that reported an error is FAIL.
    ``config.schedule.stopped_as == "complete"``: stopped trials COMPLETE with their last result (stock
    OptunaSearch's behaviour, for benchmarks)."""

    def __init__(self, study: optuna.Study, space: spaces.Space, budget: spaces.Budget,
                 config: StudyConfig, placement: Placement, stale: Sequence[optuna.trial.FrozenTrial] = ()) -> None:
        self.study, self._space, self._budget, self._config = study, space, budget, config
        self._placement = placement
        self._stale = list(stale)
        self._open: dict[int, optuna.Trial] = {}
        self._reported: dict[int, set[int]] = {}
        self._epochs: dict[int, dict[str, dict[str, Any]]] = {}
        self.budget = EpochBudget(config.budget_epochs, config.epochs, config.schedule, spent_epochs(study))

    @property
    def finished(self) -> bool:
        """The epoch budget is spent: no trial will be proposed again."""
        return self.budget.decide() is Decision.DONE

    def ask(self) -> TrialPlan | None:
        """The next trial's plan; None when the epoch budget has no room now (``finished``
        says whether it ever will)."""
        if self._stale:  # its parameters are set: the space replays them
            stale = self._stale.pop(0)
            trial = optuna.trial.Trial(self.study, stale._trial_id)
            self.budget.opened(trial.number, len(stale.user_attrs.get(HISTORY_ATTR, {})))
        elif self.budget.decide() is not Decision.PROPOSE:
            return None
        else:
            trial = self.study.ask()
            self.budget.opened(trial.number)
        plan = define_trial(trial, self._space, self._budget, self._config, self._placement)
        if "configuration" not in trial.user_attrs:  # a new configuration (not a queued repeat)
            self._queue_repeats(trial)  # first: a kill between the two repeats more, never fewer
            trial.set_user_attr("configuration", plan.number)
        self._open[plan.number] = trial
        return plan

    def _queue_repeats(self, trial: optuna.Trial) -> None:
        """``repeats - 1`` more runs of ``trial``'s parameters, each a trial of its own (its own
        seed) and marks, queued behind the trials already waiting; never beyond the study's size."""
        room = self._config.trials - len(self.study.get_trials(deepcopy=False))
        marks = {k: v for k, v in trial.user_attrs.items() if k in QUEUED_MARKS}
        for _ in range(min(self._config.repeats - 1, room)):
            self.study.enqueue_trial(trial.params, user_attrs={"configuration": trial.number, **marks})

    def report(self, number: int, result: dict[str, Any]) -> None:
        """An epoch's rows for the epochs table, and its accuracy as Optuna's intermediate value
        (single objective only)."""
        if number not in self._open:
            return
        self._store_epochs(number, result)
        if isinstance(result.get("epochs"), int):
            self.budget.ran(number, result["epochs"])
        if len(self._config.objectives) > 1 or "error" in result or "accuracy" not in result:
            return
        step, seen = int(result["epochs"]), self._reported.setdefault(number, set())
        if step not in seen:
            self._open[number].report(float(result["accuracy"]), step)
            seen.add(step)

    def _store_epochs(self, number: int, result: dict[str, Any]) -> None:
        """A run's first report names the epochs it starts from (``schema.HISTORY``, from its
        checkpoint): they replace what was stored, so epochs of a run that restarted from
        scratch do not linger; later reports add their epoch."""
        trial = self._open[number]
        stored = {} if schema.HISTORY in result else \
            self._epochs.get(number) or dict(trial.user_attrs.get(HISTORY_ATTR, {}))
        before = dict(stored)
        for row in [*result.get(schema.HISTORY, []), schema.epoch_row(result)]:
            if row:
                stored[str(row["epoch"])] = row
        self._epochs[number] = stored
        if schema.HISTORY in result or stored != before:
            trial.set_user_attr(HISTORY_ATTR, stored)

    def tell(self, number: int, result: dict[str, Any] | None) -> None:
        """The trial's outcome from its last result (None: its worker died)."""
        result = result or {"error": "the trial's worker process died"}
        self.report(number, result)
        self.budget.closed(number)
        trial = self._open.pop(number)
        state, values = self._outcome(trial, result)
        if state == TrialState.FAIL and "error" not in result:
            result = {**result, "error": "non-finite objective value"}
        for name in schema.names(source="result"):
            if result.get(name) is not None:
                trial.set_user_attr(name, result[name])
        self.study.tell(trial, values, state=state)

    def record_error(self, number: int, message: str) -> None:
        """Ray's own reason for a trial's failure (more precise than the trial's last result)."""
        self.study.set_user_attr(f"error_{number}", message[:300])

    def _outcome(self, trial: optuna.Trial, result: dict[str, Any]) -> tuple[TrialState, Any]:
        if "error" in result:
            return TrialState.FAIL, None
        if self._config.schedule.stopped_as == "pruned" and int(result.get("epochs", 0)) < self._config.epochs:
            return TrialState.PRUNED, None
        costs = [trial.user_attrs[o] for o in self._config.objectives[1:]]  # stored when defined
        values = [float(v) for v in [result["accuracy"], *costs]]
        if not all(math.isfinite(v) for v in values):
            return TrialState.FAIL, None
        return TrialState.COMPLETE, values if len(values) > 1 else values[0]


class TableWriter:
    """Rewrites a study's results table from its Optuna storage, the source of truth."""

    def __init__(self, study: optuna.Study, study_dir: Path) -> None:
        self.study, self.study_dir = study, study_dir

    def write(self) -> pd.DataFrame:
        """trials.parquet and epochs.parquet (each with a CSV twin); the trials table."""
        trials = self.study.get_trials(deepcopy=False)
        df = results.table(trial_rows(self.study, trials), integer_params(trials))
        results.write(df, self.study_dir)
        results.write(results.epochs_table(epoch_rows(trials)), self.study_dir, "epochs")
        return df


def integer_params(trials: Sequence[optuna.trial.FrozenTrial]) -> set[str]:
    """Sampled parameters whose values are all ints (typed as such in the table)."""
    out, dists = set(), {}
    for t in trials:
        dists.update(t.distributions)
    for name, dist in dists.items():
        if isinstance(dist, optuna.distributions.IntDistribution) or (
            isinstance(dist, optuna.distributions.CategoricalDistribution)
            and all(isinstance(c, int) and not isinstance(c, bool) for c in dist.choices)
        ):
            out.add(name)
    return out


def trial_rows(study: optuna.Study, trials: Sequence[optuna.trial.FrozenTrial] | None = None) -> list[dict[str, Any]]:
    """One dict per Optuna trial: state, sampled parameters and everything stored on it."""
    errors = {k[6:]: v for k, v in study.user_attrs.items() if k.startswith("error_")}
    common = {"space": study.user_attrs.get("space"), "dataset": study.user_attrs.get("dataset")}
    rows = []
    for t in study.get_trials(deepcopy=False) if trials is None else trials:
        attrs = {k: v for k, v in t.user_attrs.items() if k != HISTORY_ATTR}
        row = {"trial": t.number, "state": t.state.name, **common, **t.params, **attrs}
        if t.state == TrialState.FAIL:  # Ray's own reason, when it has one, is the more precise
            row["error"] = errors.get(str(t.number), row.get("error", "unknown error"))
        row["datetime_start"], row["datetime_complete"] = t.datetime_start, t.datetime_complete
        rows.append(row)
    return rows


def epoch_rows(trials: Sequence[optuna.trial.FrozenTrial]) -> list[dict[str, Any]]:
    """One dict per trial and epoch run, in trial and epoch order."""
    return [{"trial": t.number, **row} for t in trials
            for _, row in sorted(t.user_attrs.get(HISTORY_ATTR, {}).items(), key=lambda kv: int(kv[0]))
            if str(row.get("epoch")).isdigit()]
