"""Every command's one way in: ``prepare(request)`` applies every refusal, opens the storage,
loads the data and builds the space, once, and writes nothing; ``execute(prepared)`` holds the
one Ray session and the study's lock, runs the study and writes its table.

A command (``search.run``, ``search.retrain``) only parses its flags into a ``Request``.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import pandas as pd

import spaces
from search.config.resources import Placement
from search.config.study import START_FROM_AUTO, StudyConfig
from search.core import io
from search.core.errors import StudyError
from search.core.lock import StudyLock, StudyLocked
from search.core.masking import mask_password
from search.data.datasets import DataSpec, Splits, load
from search.data.datasets import check as check_data
from search.results import tables as results
from search.results.schema import FINISHED
from search.study import optuna_study, refusals, resources
from search.study.budget import bought
from search.study.progress import Progress
from search.study.resume import check_resumable, finished_rows, resolve
from search.study.warm_start import first_trials
from search.training.plan import QueuedTrial


@dataclass(frozen=True)
class Request:
    """What a command asks for, as its flags gave it."""

    config: StudyConfig  # the study as given (on resume: its name and where it lives)
    resume: bool = False  # continue the study of this name
    given: Mapping[str, Any] = field(default_factory=dict)  # the settings set on the command line
    space: spaces.Space | None = None  # a space of its own (a retraining's finalists), else config.space's
    queue: tuple[QueuedTrial, ...] = ()  # trials to run first (else --warm-start's)
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written beside study.json when the study is created
    resume_command: str = ""  # what continues an interrupted run ("": search.run --resume)


@dataclass(frozen=True)
class Prepared:
    """A study that passed every check: its config, data, budget and space, each built once."""

    request: Request
    config: StudyConfig  # as resolved: saved settings on resume
    splits: Splits
    budget: spaces.Budget
    space: spaces.Space
    grid: dict[str, list] | None  # the space's choices, for the grid sampler
    queue: tuple[QueuedTrial, ...]
    storage: Any  # the shared --storage, opened (None: the study folder's SQLite, opened in execute)
    available: resources.Available | None  # this machine (None: the cluster at --address, seen once joined)
    placement: Placement | None  # the trials' share of this machine (None: placed on the cluster once joined)


def prepare(request: Request) -> Prepared:
    """Every refusal of the request, in the order of their cost; nothing is written."""
    refusals.check_results_dir(request.config.results_dir)
    config = resolve(request.config, request.resume, request.given)
    refusals.check_storage_path(config)
    refusals.check_address(config.address)
    space = request.space or spaces.get(config.space)
    grid = spaces.grid_of(space, config.space) if config.sampler == "grid" else None
    data = DataSpec(config.dataset, config.data_dir, config.download)
    check_data(data)  # an unknown dataset or a missing folder
    available = None if config.address else resources.local_available()
    placement = None if available is None else resources.place(config.resources, available)  # e.g. absent GPUs
    splits = load(data)
    refusals.check_splits(config, splits)
    budget = config.budget(splits.image_size, splits.channels, splits.num_classes)
    spaces.check_budget(space, budget)
    queue = request.queue or (() if request.resume else first_trials(config, space, budget))
    storage = opened_storage(config, request.resume)  # last: opening a new SQLite file creates it
    return Prepared(request, config, splits, budget, space, grid, queue, storage, available, placement)


def opened_storage(config: StudyConfig, resume: bool):
    """The shared --storage, opened (None without one): refused if it cannot be reached or
    already holds a study of this name when not resuming; a resume whose table has finished
    trials that no storage holds any more is refused too."""
    storage = None
    if config.storage:
        storage = optuna_study.open_storage(config.storage)
        if not resume and optuna_study.study_exists(storage, config.name):
            raise StudyError(f"storage {mask_password(config.storage)} already holds a study "
                             f"{config.name!r}: pass --resume or --name NEW_NAME")
    if resume and storage is None and not (config.study_dir() / "optuna.db").exists():
        check_resumable(config, None)  # refuses when the table has finished trials the storage lost
    return storage


def execute(prepared: Prepared) -> int:
    """Run the prepared study in one Ray session (``ray_tuner.RaySession``): the cluster at
    --address is joined, and what it lacks refused, before any file is written; a local Ray
    starts only when trials are to run."""
    from search.study import ray_tuner  # Ray loads only once the input is valid: refusals stay instant

    config = prepared.config
    with ray_tuner.RaySession(config.address, prepared.available) as session:
        if config.storage:  # a shared storage keeps a study once created: Ray must be up before that
            session.start()
        available = session.available()
        placement = prepared.placement or resources.place(config.resources, available)
        study_dir = config.study_dir()
        created = not study_dir.exists()
        study_dir.mkdir(parents=True, exist_ok=True)
        try:
            with StudyLock(study_dir):
                study, stale = _open(prepared)
                print(_header(prepared, resources.describe(placement, available)), file=sys.stderr)
                if not prepared.request.resume and _first(prepared):
                    print(_first(prepared), file=sys.stderr)
                if stale:
                    print(f"resuming {len(stale)} interrupted trial(s): {[t.number for t in stale]}", file=sys.stderr)
                return _run(prepared, session, placement, study, stale)
        except StudyLocked:
            raise  # another driver holds this folder (perhaps it created it an instant before us): not ours to remove
        except (ValueError, OSError):
            if created and finished_rows(config) == 0:  # refused before any trial: leave no folder to block a retry
                shutil.rmtree(study_dir, ignore_errors=True)
            raise


def _open(prepared: Prepared):
    """The Optuna study, created or resumed under the lock; study.json (and the request's files)
    written when the study is created."""
    config, resume, study_dir = prepared.config, prepared.request.resume, prepared.config.study_dir()
    if not resume and (study_dir / "study.json").exists():  # another driver created it since our checks
        raise StudyError(f"study {config.name!r} already exists in {study_dir}: continue it with --resume, "
                         "or start another with --name NEW_NAME")
    if not resume or not (study_dir / "study.json").exists():
        shared = replace(config, storage=mask_password(config.storage) if config.storage else None)
        io.write_text_atomic(study_dir / "study.json", shared.to_json(), mode=0o600)  # no password at rest
        for name, text in prepared.request.files:
            io.write_text_atomic(study_dir / name, text)
    storage = prepared.storage or optuna_study.open_storage(config.storage_url())
    if resume:
        check_resumable(config, optuna_study.stored_finished(storage, config.name))
    return optuna_study.open_study(config, storage, resume, prepared.grid, prepared.queue)


def _header(prepared: Prepared, where: str) -> str:
    config, splits = prepared.config, prepared.splits
    return (f"study {config.name}: {config.trials} trials of {config.space} on {config.dataset} ({splits.image_size}px, "
            f"{len(splits.train_y)} train / {len(splits.val_y)} val / {len(splits.test_y)} test images); "
            f"storage {mask_password(config.storage_url())}; {where}")


def _first(prepared: Prepared) -> str | None:
    """The hand designs that run before the sampler proposes (``--start-from``), if any."""
    hand = [q.user_attrs["design"] for q in prepared.queue if q.user_attrs.get("design")]
    hint = "; --start-from none skips them" if prepared.config.start_from == START_FROM_AUTO else ""
    return f"first: {len(hand)} hand designs ({', '.join(hand)}{hint})" if hand else None


def _run(prepared: Prepared, session, placement: Placement, study, stale: list) -> int:
    from search.study import ray_tuner

    config = prepared.config
    table = optuna_study.TableWriter(study, config.study_dir())
    proposer = optuna_study.StudyProposer(study, prepared.space, prepared.budget, config, placement, stale)
    progress = Progress(config.trials, budget=proposer.budget)
    table.write()
    missing = config.trials - optuna_study.finished_count(study)
    left = config.time_budget - optuna_study.seconds_spent(study) if config.time_budget else None
    if missing > 0 and not proposer.finished and (left is None or left > 0):
        start = time.monotonic()
        try:
            session.start()
            ray_tuner.run_tuner(config, placement, prepared.splits, proposer, table, progress, missing, left)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: what finished is in the storage; the table is written below
        finally:
            optuna_study.seconds_spent(study, add=time.monotonic() - start)
    return _summarise(prepared, table.write(), progress, _spent(prepared.config, study, proposer))


def _spent(config: StudyConfig, study, proposer) -> str:
    """What ended the study early, if a budget did ("": none)."""
    if proposer.finished:
        return f"the epoch budget is spent ({proposer.budget.describe()})"
    used = optuna_study.seconds_spent(study)
    if config.time_budget and used >= config.time_budget:
        return f"the time budget is spent ({used / 60:.1f} of {config.time_budget / 60:.1f} min)"
    return ""


def _summarise(prepared: Prepared, df: pd.DataFrame, progress: Progress, spent: str) -> int:
    """The summary; exit 130 when the study stopped before its trials ran or its budget was spent."""
    config = prepared.config
    progress.refresh(df)
    progress.show(final=True)
    print(results.summary(df))
    print(f"results: {config.study_dir() / 'trials.parquet'} (pandas: search.results.load({str(config.study_dir())!r}))")
    done = df["state"].isin(FINISHED).sum()
    if config.budget_epochs or config.time_budget:
        print(bought(df, config.epochs))
    if spent and done < config.trials:
        print(f"{spent}: {done} trials finished; --resume with a larger budget goes on", file=sys.stderr)
    elif done < config.trials:
        again = prepared.request.resume_command or \
            f"python -m search.run --name {config.name} --results-dir {config.results_dir} --resume"
        print(f"interrupted with {done}/{config.trials} trials finished; continue with: {again}", file=sys.stderr)
        return 130  # Ray Tune handles Ctrl-C itself: a short study is an interrupted one
    return 0
