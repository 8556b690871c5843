"""The one module that imports Ray and Optuna: a study is a Tuner whose trials Optuna proposes.

The Optuna storage is the single source of truth. A trial is finished when Optuna says COMPLETE,
PRUNED or FAIL; everything in its results row is stored on its Optuna trial before it is told;
its checkpoint is found by its Optuna number. A resumed study opens the storage, hands the trials
that an interrupted driver left RUNNING back to Ray first (same number, same parameters, from
their last checkpoint), and asks a fresh Tuner for exactly the trials still missing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
import warnings
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import optuna
import ray
from optuna._hypervolume import compute_hypervolume  # private in Optuna 5.0: used only in hypervolume()
from optuna.trial import TrialState
from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch

import spaces
from blocks import NetSpec, complexity, grouping_reduction

from .config import StudyConfig
from .data import Splits
from .progress import Progress
from .trial import run_trial

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
RESULT_ATTRS = (  # what a trial's last result leaves on its Optuna trial (the results table's columns)
    "accuracy", "test_accuracy", "epochs", "train_seconds", "images_per_second", "error", "latency_ms",
    "dense_latency_ms", "throughput", "dense_throughput", "speedup_vs_dense", "device", "trial_seconds",
    "eval_seconds", "setup_seconds", "measure_seconds", "compile_seconds", "worker_pid", "worker_peak_rss_mb",
    "worker_rss_mb", "node", "hostname",
)


def make_sampler(name: str, seed: int, trials: int) -> optuna.samplers.BaseSampler:
    """GP and QMC sample the per-stage parameters that only some networks have at random
    (Optuna's fallback for dynamic spaces); TPE's ``group`` mode models them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _sampler(name, seed, trials)


def _sampler(name: str, seed: int, trials: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(50, trials // 4)))
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The Optuna storage at ``url``; ValueError (password masked) when it cannot be reached."""
    try:
        return optuna.storages.get_storage(url)
    except Exception as err:
        raise ValueError(f"cannot open storage {mask_password(url)}: {type(err).__name__}") from None


def mask_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def study_exists(storage: optuna.storages.BaseStorage, name: str) -> bool:
    return any(s.study_name == name for s in storage.get_all_studies())


def stored_config(storage: optuna.storages.BaseStorage, name: str) -> str | None:
    """The StudyConfig JSON a study keeps in its storage, if the storage holds that study."""
    match = [s for s in storage.get_all_studies() if s.study_name == name]
    return match[0].user_attrs.get("config") if match else None


def define_trial(trial: optuna.Trial, space: str, budget: spaces.Budget, settings: dict[str, Any]) -> dict[str, Any]:
    """Define-by-run: sample a spec, store its complexity on the Optuna trial, and give Ray the
    trial's whole configuration under one key (so no name can clash with a sampled one)."""
    spec = spaces.get(space)(trial, budget)
    cx = complexity(spec, budget.image_size)
    reduction = grouping_reduction(spec, budget.image_size)
    attrs = {
        "arch": spec.to_json(), "acts": cx.acts, "flops": cx.flops, "max_cardinality": spec.max_cardinality,
        "min_group_width": min(s.group_width for s in spec.stages),
        **reduction.to_dict(),
    }
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    return {"trial": {**settings, "arch": spec.to_dict(), "trial_number": trial.number,
                      "seed": settings["seed"] + trial.number, "macs": cx.macs, "params": cx.params}}


def trainable(config: dict[str, Any], splits: Splits) -> None:
    trial = dict(config["trial"])
    trial["threads"] = max(1, int(tune.get_context().get_trial_resources().head_cpus))  # what Ray gave it
    extra = {"macs": trial["macs"], "params": trial["params"], "node": ray.get_runtime_context().get_node_id()[:12]}
    run_trial(trial, splits, lambda metrics: tune.report({**metrics, **extra}))


class StudySearch(OptunaSearch):
    """OptunaSearch that tells Optuna the truth: a trial stopped by the scheduler before its
    epoch budget is PRUNED (with its per-epoch values), only a full run is COMPLETE, a trial that
    reported an error is FAIL; and it resumes RUNNING trials of an interrupted driver first.
    ``stopped_as="complete"``: stopped trials COMPLETE with their last result (stock, for benchmarks)."""

    def __init__(self, *args: Any, epochs: int, resume: list[optuna.trial.FrozenTrial],
                 stopped_as: str = "pruned", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epochs, self._resume, self._reported, self._stopped_as = epochs, list(resume), {}, stopped_as

    def suggest(self, trial_id: str) -> dict | None:
        if self._resume and trial_id not in self._ot_trials:
            frozen = self._resume.pop(0)  # its parameters are set: the space replays them
            self._ot_trials[trial_id] = optuna.trial.Trial(self._ot_study, frozen._trial_id)
        return super().suggest(trial_id)

    def _report(self, trial_id: str, result: dict) -> None:
        if isinstance(self.metric, list) or "error" in result or self.metric not in result:
            return  # Optuna keeps intermediate values for single-objective studies only
        step, seen = int(result["epoch"]), self._reported.setdefault(trial_id, set())
        if step not in seen:
            self._ot_trials[trial_id].report(float(result[self.metric]), step)
            seen.add(step)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id not in self._completed_trials:
            self._report(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self._completed_trials or (not result and not error):
            return  # never ran (an interrupted study): stays RUNNING, resumed later
        ot_trial = self._ot_trials[trial_id]
        result = result or {"error": "the trial's worker process died"}
        self._report(trial_id, result)
        state, values = self._outcome(result)
        if state == TrialState.FAIL and "error" not in result:
            result = {**result, "error": "non-finite objective value"}
        for key in RESULT_ATTRS:
            value = result.get("epoch") if key == "epochs" else result.get(key)
            if value is not None:
                ot_trial.set_user_attr(key, value)
        self._ot_study.tell(ot_trial, values, state=state)
        self._completed_trials.add(trial_id)

    def _outcome(self, result: dict) -> tuple[TrialState, Any]:
        if "error" in result:
            return TrialState.FAIL, None
        if self._stopped_as == "pruned" and int(result.get("epoch", 0)) < self._epochs:
            return TrialState.PRUNED, None
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        values = [float(result[m]) for m in metrics]
        if not all(math.isfinite(v) for v in values):
            return TrialState.FAIL, None
        return TrialState.COMPLETE, values if isinstance(self.metric, list) else values[0]


class StudyCallback(tune.Callback):
    """Driver-side: keeps the progress display and rewrites the results table after every
    finished trial (from the Optuna storage, so nothing depends on Ray's own state)."""

    def __init__(self, write_table, progress: Progress, study: optuna.Study) -> None:
        self._write_table, self._progress, self._study = write_table, progress, study

    def on_trial_start(self, iteration, trials, trial, **info):
        self._progress.started()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self._progress.result(result.get("accuracy"))

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._finished()

    def on_trial_error(self, iteration, trials, trial, **info):
        """A Ray-level failure (the worker died): its reason, from Ray's error file."""
        number = trial.config["trial"]["trial_number"]
        lines = []
        if trial.error_file and os.path.exists(trial.error_file):
            with open(trial.error_file) as f:
                lines = [line.strip() for line in f if line.strip()]
        self._study.set_user_attr(f"error_{number}", (lines[-1] if lines else "the trial's worker process died")[:300])
        self._finished()

    def _finished(self):
        self._progress.finished(self._study)
        self._write_table()


def open_study(config: StudyConfig, storage: optuna.storages.BaseStorage, resume: bool) -> tuple[optuna.Study, list]:
    """Open (or create) the Optuna study; the trials an interrupted driver left unfinished."""
    metrics, modes = config.metric_modes
    directions = ["maximize" if m == "max" else "minimize" for m in modes]
    study = optuna.create_study(
        storage=storage, study_name=config.name, directions=directions, load_if_exists=resume,
        sampler=make_sampler(config.sampler, config.seed, config.trials),
    )
    if not resume:  # the config travels with the storage, so another machine can resume from it
        shared = replace(config, storage=None)  # no password in the database
        for key, value in (("space", config.space), ("dataset", config.dataset), ("config", shared.to_json())):
            study.set_user_attr(key, value)
    stale = [t for t in study.get_trials(deepcopy=False) if t.state not in FINISHED]
    return study, stale


def run_tuner(config: StudyConfig, splits: Splits, study: optuna.Study, storage, stale: list, write_table, progress) -> int:
    """Run the missing trials; the number of Ray-level errors."""
    finished = sum(t.state in FINISHED for t in study.get_trials(deepcopy=False))
    remaining = config.trials - finished
    if remaining <= 0:
        return 0
    budget = config.budget(splits.image_size, splits.channels, splits.num_classes)
    settings = {
        "train": config.train_config(), "seed": config.seed, "trial_root": config.trial_root(),
        "gpus": config.gpus_per_trial,
    }
    metrics, modes = config.metric_modes
    searcher = StudySearch(
        functools.partial(define_trial, space=config.space, budget=budget, settings=settings),
        metric=metrics if len(metrics) > 1 else metrics[0], mode=modes if len(modes) > 1 else modes[0],
        sampler=study.sampler, study_name=config.name, storage=storage,
        epochs=config.epochs, resume=stale, stopped_as=config.stopped_as,
    )
    scheduler = (
        ASHAScheduler(time_attr="epoch", metric="accuracy", mode="max", max_t=config.epochs,
                      grace_period=max(1, config.epochs // 5), reduction_factor=3)
        if config.scheduler == "asha" else FIFOScheduler()
    )
    resources = {"cpu": config.cpus_per_trial, "gpu": config.gpus_per_trial}
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(trainable, splits=splits), resources),
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=config.max_concurrent),
            scheduler=scheduler, num_samples=remaining, reuse_actors=True,
            trial_name_creator=trial_name, trial_dirname_creator=trial_name,
        ),
        run_config=tune.RunConfig(
            name=time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()), storage_path=f"{config.trial_root()}/ray", verbose=0,
            callbacks=[StudyCallback(write_table, progress, study)],
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    grid = tuner.fit()
    return len(grid.errors)


def hypervolume(losses: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Hypervolume that ``losses`` (every objective minimised) dominate up to ``reference``."""
    points = np.asarray(losses, dtype=float).reshape(-1, len(reference))
    return float(compute_hypervolume(points, np.asarray(reference, dtype=float)))


def trial_name(trial) -> str:
    """Ray's trial folders named by Optuna number, as the checkpoints are."""
    return f"trial_{trial.config['trial']['trial_number']:05d}"


@contextlib.contextmanager
def ray_session(address: str | None):
    """Start Ray quietly (or join ``address``); reuse one that is already up, e.g. in tests.
    Token authentication stays as Ray sets it (on); the dashboard stays off."""
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # with verbose=0: no tables from Ray
    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as err:  # e.g. no cluster at --address
        raise ValueError(f"cannot start or join Ray at {address or 'a new local instance'}: {type(err).__name__}: "
                         f"{' '.join(str(err).split())[:200]}") from None
    logging.getLogger("ray.tune").setLevel(logging.CRITICAL)  # errors are in our table instead
    try:
        yield
    finally:
        ray.shutdown()


def integer_params(study: optuna.Study) -> set[str]:
    """Sampled parameters whose values are all ints (typed as such in the table)."""
    out, dists = set(), {}
    for t in study.get_trials(deepcopy=False):
        dists.update(t.distributions)
    for name, dist in dists.items():
        if isinstance(dist, optuna.distributions.IntDistribution) or (
            isinstance(dist, optuna.distributions.CategoricalDistribution)
            and all(isinstance(c, int) and not isinstance(c, bool) for c in dist.choices)
        ):
            out.add(name)
    return out


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One dict per Optuna trial: state, sampled parameters and everything stored on it."""
    errors = {k[6:]: v for k, v in study.user_attrs.items() if k.startswith("error_")}
    common = {"space": study.user_attrs.get("space"), "dataset": study.user_attrs.get("dataset")}
    rows = []
    for t in study.get_trials(deepcopy=False):
        row = {"trial": t.number, "state": t.state.name, **common, **t.params, **t.user_attrs}
        if t.state == TrialState.FAIL:  # Ray's own reason, when it has one, is the more precise
            row["error"] = errors.get(str(t.number), row.get("error", "unknown error"))
        row["datetime_start"], row["datetime_complete"] = t.datetime_start, t.datetime_complete
        rows.append(row)
    return rows
