"""The one module that imports Ray: a study is a Tuner whose trials a proposer (the Optuna side,
``optuna_study.StudyProposer``) plans and is told about.

Each trial's ``TrialPlan`` travels to a Ray worker as is; the worker reports one record per epoch
(``trial.run_trial``). Nothing here imports Optuna or reads Ray internals.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
from ray.tune.search import ConcurrencyLimiter, Searcher

from blocks import complexity

from search.results.analysis import pareto_order
from search.config.resources import Placement
from search.config.study import StudyConfig
from search.data.datasets import Splits
from search.training.plan import TrialPlan
from search.study.progress import Progress
from search.study.resources import Available
from search.training.trial import run_trial


class Proposer(Protocol):
    """What the searcher needs from the Optuna side."""

    def ask(self) -> TrialPlan | None: ...
    @property
    def finished(self) -> bool: ...
    def report(self, number: int, result: dict[str, Any]) -> None: ...
    def tell(self, number: int, result: dict[str, Any] | None) -> None: ...
    def record_error(self, number: int, message: str) -> None: ...


class Table(Protocol):
    def write(self) -> pd.DataFrame: ...


def trainable(config: dict[str, Any], splits: Splits) -> None:
    plan: TrialPlan = config["plan"]
    node = ray.get_runtime_context().get_node_id()[:12]
    run_trial(plan, splits, lambda record: tune.report({**record, "node": node}))


class StudySearcher(Searcher):
    """Ray's searcher interface over a proposer: Ray trial ids to Optuna trial numbers."""

    def __init__(self, proposer: Proposer) -> None:
        super().__init__(metric="accuracy", mode="max")  # what the scheduler ranks; Optuna gets the objectives
        self._proposer, self._numbers = proposer, {}

    def __getstate__(self) -> dict[str, Any]:
        """Ray pickles the Tuner into tuner.pkl (for a Tune-level restore this project does not
        use): not the proposer, whose Optuna storage URL may carry a password."""
        return {**self.__dict__, "_proposer": None}

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return True  # the space is the proposer's; nothing to take from the Tuner

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        plan = self._proposer.ask()
        if plan is None:  # the epoch budget: spent, or no room until a running trial stops
            return Searcher.FINISHED if self._proposer.finished else None
        self._numbers[trial_id] = plan.number
        return {"plan": plan}

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self._numbers:
            self._proposer.report(self._numbers[trial_id], result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id not in self._numbers or (not result and not error):
            return  # never ran (an interrupted study): stays RUNNING, resumed later
        self._proposer.tell(self._numbers.pop(trial_id), result)


class ParetoASHA(FIFOScheduler):
    """Asynchronous successive halving that ranks by several objectives (MOASHA, as in Syne
    Tune): at each rung a trial goes on if no trial recorded there dominates it, or if it is
    among the best 1/``reduction_factor`` of them (non-dominated front first, then crowding
    distance), so the rung's Pareto front is never stopped.
    Accuracy comes from the result; cost objectives (``macs``, ``params``, ``flops``) from the
    trial's plan, so a cheap network is not stopped for being less accurate than a dear one."""

    def __init__(self, objectives: tuple[str, ...], image_size: int, max_t: int, grace_period: int,
                 reduction_factor: float = 3) -> None:
        super().__init__()
        self._objectives, self._image_size, self._rf = objectives, image_size, reduction_factor
        self._rungs: dict[int, dict[str, np.ndarray]] = {}
        milestone = grace_period
        while milestone < max_t:
            self._rungs[milestone] = {}
            milestone = int(math.ceil(milestone * reduction_factor))

    def on_trial_result(self, tune_controller, trial, result: dict[str, Any]) -> str:
        epochs = int(result.get("epochs", 0))
        reached = [m for m in self._rungs if m <= epochs and trial.trial_id not in self._rungs[m]]
        if not reached or "error" in result:
            return self.CONTINUE
        recorded = self._rungs[max(reached)]
        recorded[trial.trial_id] = self._losses(trial.config["plan"], result)
        ids = list(recorded)
        losses = np.stack([recorded[t] for t in ids])
        mine = recorded[trial.trial_id]
        dominated = ((losses <= mine).all(1) & (losses < mine).any(1)).any()
        keep = max(1, math.ceil(len(ids) / self._rf))
        best = {ids[i] for i in pareto_order(losses)[:keep]}
        return self.CONTINUE if not dominated or trial.trial_id in best else self.STOP

    def _losses(self, plan: TrialPlan, result: dict[str, Any]) -> np.ndarray:
        cost = complexity(plan.spec, self._image_size)
        values = {"accuracy": -float(result["accuracy"]), "macs": cost.macs, "params": cost.params, "flops": cost.flops}
        return np.array([values[o] for o in self._objectives], dtype=float)

    def debug_string(self) -> str:
        return f"Pareto ASHA over {', '.join(self._objectives)}: rungs at {sorted(self._rungs)} epochs"


class StudyCallback(tune.Callback):
    """Driver-side: keeps the progress display and rewrites the results table after every
    finished trial."""

    def __init__(self, table: Table, progress: Progress, proposer: Proposer) -> None:
        self._table, self._progress, self._proposer = table, progress, proposer

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_table": None, "_proposer": None}  # as StudySearcher: no storage URL at rest

    def on_trial_start(self, iteration, trials, trial, **info):
        self._progress.started()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self._progress.result(result.get("accuracy"))

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._progress.finished(self._table.write())

    def on_trial_error(self, iteration, trials, trial, **info):
        """A Ray-level failure (the worker died): its reason, from Ray's error file."""
        lines = []
        if trial.error_file and os.path.exists(trial.error_file):
            with open(trial.error_file) as f:
                lines = [line.strip() for line in f if line.strip()]
        self._proposer.record_error(trial.config["plan"].number, lines[-1] if lines else "the trial's worker process died")
        self._progress.finished(self._table.write())


def make_scheduler(config: StudyConfig, image_size: int):
    """ASHA on accuracy; for several objectives, ASHA over all of them (ParetoASHA); or FIFO."""
    schedule, first_rung = config.schedule, config.schedule.first_rung(config.epochs)
    if schedule.scheduler != "asha":
        return FIFOScheduler()
    if len(config.objectives) > 1:
        return ParetoASHA(config.objectives, image_size, config.epochs, first_rung, schedule.reduction_factor)
    return ASHAScheduler(time_attr="epochs", metric="accuracy", mode="max", max_t=config.epochs,
                         grace_period=first_rung, reduction_factor=schedule.reduction_factor,
                         brackets=schedule.brackets)


class ReplayedScheduler:
    """A study's scheduler (``make_scheduler``) driven without Ray's trial runner, for replayed
    studies (``search.replay``): it takes the same decisions on the same results."""

    def __init__(self, config: StudyConfig, image_size: int) -> None:
        self._scheduler, self._trials = make_scheduler(config, image_size), {}

    def add(self, plan: TrialPlan) -> None:
        trial = _ReplayedTrial(f"trial_{plan.number:05d}", {"plan": plan})
        self._trials[plan.number] = trial
        self._scheduler.on_trial_add(None, trial)

    def continues(self, number: int, result: dict[str, Any]) -> bool:
        return self._scheduler.on_trial_result(None, self._trials[number], result) != FIFOScheduler.STOP

    def complete(self, number: int, result: dict[str, Any]) -> None:
        self._scheduler.on_trial_complete(None, self._trials.pop(number), result)


@dataclass(frozen=True)
class _ReplayedTrial:
    """What Ray's schedulers read of a trial: its id, and its config (ParetoASHA: the plan)."""

    trial_id: str
    config: dict[str, Any]


def run_tuner(config: StudyConfig, placement: Placement, splits: Splits, proposer: Proposer, table: Table,
              progress: Progress, trials: int, seconds: float | None = None) -> int:
    """Run ``trials`` more trials, for at most ``seconds`` (Ray Tune's time budget: trials still
    running then stop where they are, to continue on resume); the number of Ray-level errors."""
    scheduler = make_scheduler(config, splits.image_size)
    resources = {"cpu": placement.cpus_per_trial, "gpu": placement.gpus_per_trial}
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(trainable, splits=splits), resources),
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(StudySearcher(proposer), max_concurrent=placement.max_concurrent),
            scheduler=scheduler, num_samples=trials, reuse_actors=True, time_budget_s=seconds,
            trial_name_creator=trial_name, trial_dirname_creator=trial_name,
        ),
        run_config=tune.RunConfig(
            name=time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()), storage_path=f"{config.trial_root()}/ray",
            verbose=0, callbacks=[StudyCallback(table, progress, proposer)],
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    return len(tuner.fit().errors)


def trial_name(trial) -> str:
    """Ray's trial folders named by Optuna number, as the checkpoints are."""
    return f"trial_{trial.config['plan'].number:05d}"


def cluster_available(address: str) -> Available:
    """What the joined cluster's live nodes have."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    kinds = sorted({k.removeprefix("accelerator_type:") for n in nodes for k in n if k.startswith("accelerator_type:")})
    return Available(tuple((n.get("CPU", 0.0), n.get("GPU", 0.0)) for n in nodes), "/".join(kinds),
                     f"the Ray cluster at {address}")


class RaySession:
    """The study's one Ray session, started when first needed and ended with the study: the
    cluster at ``address`` is joined when its resources are asked for (before any file is
    written), a local Ray with ``local``'s CPUs and GPUs only when trials are to run. One that
    is already up (e.g. in tests) is used as it is. Token authentication stays as Ray sets it
    (on); the dashboard stays off."""

    def __init__(self, address: str | None, local: Available | None) -> None:
        self._address, self._local, self._started = address, local, False

    def __enter__(self) -> RaySession:
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            ray.shutdown()

    def available(self) -> Available:
        """What the trials can be placed on: this machine, or the joined cluster's live nodes."""
        if self._local is not None:
            return self._local
        self.start()
        return cluster_available(self._address or "auto")

    def start(self) -> None:
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # with verbose=0: no tables from Ray
        if ray.is_initialized():
            return
        local = self._local
        sizes = {} if self._address or local is None else {"num_cpus": int(local.cpus), "num_gpus": int(local.gpus)}
        try:
            ray.init(address=self._address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     **sizes)
        except Exception as err:  # e.g. no cluster at --address
            raise ValueError(f"cannot start or join Ray at {self._address or 'a new local instance'}: "
                             f"{type(err).__name__}: {' '.join(str(err).split())[:200]}") from None
        self._started = True
        logging.getLogger("ray.tune").setLevel(logging.CRITICAL)  # errors are in our table instead
