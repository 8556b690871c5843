"""One study from start to summary: validate, load data, open the storage, run, write the table.

Everything that can reject the input runs before the study folder is created; what needs no data
also before Ray starts, which then overlaps with loading the data.
"""

from __future__ import annotations

import shutil
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import spaces

from search.core import io
from search.study import resources
from search.results import tables as results
from search.core.errors import StudyError
from search.study.refusals import check_address, check_results_dir, check_splits, check_storage_path
from search.config.study import StudyConfig
from search.data.datasets import DataSpec, Splits, load
from search.data.datasets import check as check_data
from search.core.lock import StudyLock, StudyLocked
from search.core.masking import mask_password
from search.training.plan import QueuedTrial
from search.study.warm_start import warm_queue
from search.study.progress import Progress
from search.results.schema import FINISHED


@dataclass(frozen=True)
class Prepared:
    """A study that passed every check: its config, data, budget and space, each built once."""

    config: StudyConfig
    splits: Splits
    budget: spaces.Budget
    space: spaces.Space
    grid: dict[str, list] | None  # the space's choices, for the grid sampler
    queue: tuple[QueuedTrial, ...] = ()  # trials to run first, queued when the study is created
    resume_command: str = ""  # what continues an interrupted run ("": search.run --resume)


def resolve(config: StudyConfig, resume: bool, overrides: dict[str, Any]) -> StudyConfig:
    """The config to run: as given for a new study, as saved (plus run-time overrides) on resume."""
    saved = config.study_dir() / "study.json"
    StudyLock(config.study_dir()).check_free()  # a running study is named, whatever was asked
    if not resume:
        if config.study_dir().exists():
            raise StudyError(
                f"study {config.name!r} already exists in {config.study_dir()}: continue it with --resume, "
                "or start another with --name NEW_NAME"
            )
        return config
    stored = saved_config(config, saved)
    if stored is None:
        raise StudyError(f"--resume: there is no study {config.name!r} in {config.study_dir()} (no study.json)"
                         + ("" if config.storage else "; a study kept in a shared --storage can be resumed from it"))
    given = {k: v for k, v in overrides.items() if k != "train"}
    stored = with_storage_secret(stored, given.pop("storage", None))
    fixed = [(k, v, getattr(stored, k)) for k, v in given.items() if not StudyConfig.may_change_on_resume(k)]
    fixed += [(k, v, getattr(stored.train, k)) for k, v in overrides.get("train", {}).items()]
    for key, value, was in fixed:
        if value is not None and value != was:
            raise StudyError(
                f"--resume: study {config.name!r} was created with {key}={was!r}; "
                f"drop that flag to resume it, or start a new study with --name"
            )
    return stored.with_overrides(**{k: v for k, v in given.items() if StudyConfig.may_change_on_resume(k)})


def with_storage_secret(stored: StudyConfig, given: str | None) -> StudyConfig:
    """study.json keeps the storage URL masked: a resume passes it again, password included."""
    if given is not None and mask_password(given) == mask_password(stored.storage or ""):
        return replace(stored, storage=given)
    if given is not None:  # a URL other than the one the study was created with
        raise StudyError(f"--resume: study {stored.name!r} was created with --storage {mask_password(stored.storage or 'none')}; "
                         "drop that flag or pass the same URL")
    if stored.storage and "***" in stored.storage:
        raise StudyError(f"--resume: study {stored.name!r} keeps its data in {stored.storage}: pass that URL with "
                         "its password as --storage to resume it (study.json never holds the password)")
    return stored


def saved_config(config: StudyConfig, saved: Path) -> StudyConfig | None:
    """The config the study was created with: its study.json, else (resuming on another machine)
    the copy kept in its shared Optuna storage."""
    if saved.exists():
        return StudyConfig.from_json(saved.read_text())
    if not config.storage or (config.storage.startswith("sqlite:///") and not Path(config.storage[10:]).exists()):
        return None  # nothing shared to resume from (and no empty SQLite file left behind)
    from search.study import optuna_study

    text = optuna_study.stored_config(optuna_study.open_storage(config.storage), config.name)
    return None if text is None else replace(StudyConfig.from_json(text), storage=config.storage)


def launch(config: StudyConfig, resume: bool, overrides: dict[str, Any]) -> int:
    """``search.run``'s study: every check, then run it. A local Ray starts while the data loads
    from files (each takes seconds), once the placement is known to fit this machine."""
    config = checked(config, resume, overrides)
    spec = data_spec(config)
    check_data(spec)  # an unknown dataset or a missing folder: refused before Ray starts
    if config.address is not None or spec.embedded:  # nothing to overlap; a cluster is joined in run()
        return run(with_data(config, resume, load(spec)), resume)
    available = resources.local_available()
    resources.place(config, available)  # e.g. GPUs asked for where there are none
    from search.study import ray_tuner

    storage = opened_storage(config, resume)  # e.g. an unreachable --storage: refused before Ray starts
    loading = in_background(lambda: load(spec))
    with ray_tuner.ray_session(None, available):
        return _run(with_data(config, resume, loading.result()), resume, available, storage)


def in_background(work: Callable[[], Any]) -> Future:
    """``work()`` on a daemon thread, e.g. loading the data while Ray starts: a Ctrl-C in the
    meantime ends the study at once instead of waiting for it."""
    future: Future = Future()

    def body() -> None:
        try:
            future.set_result(work())
        except BaseException as err:  # handed to whoever waits for the result
            future.set_exception(err)

    threading.Thread(target=body, name="load", daemon=True).start()
    return future


def checked(config: StudyConfig, resume: bool, overrides: dict[str, Any]) -> StudyConfig:
    """The config to run, once every check that needs neither the data nor Ray has passed."""
    check_results_dir(config.results_dir)
    config = resolve(config, resume, overrides)
    check_storage_path(config)
    check_address(config.address)
    spaces.get(config.space)  # an unknown or broken space is refused before anything loads
    return config


def data_spec(config: StudyConfig) -> DataSpec:
    return DataSpec(config.dataset, config.data_dir, config.download)


def with_data(config: StudyConfig, resume: bool, splits: Splits) -> Prepared:
    """The checked study with its data: refused if the data cannot train it."""
    space = spaces.get(config.space)
    grid = spaces.grid_of(space, config.space) if config.sampler == "grid" else None
    check_splits(config, splits)
    budget = config.budget(splits.image_size, splits.channels, splits.num_classes)
    spaces.check_budget(space, budget)
    queue = warm_queue(config) if config.warm_start and not resume else ()
    return Prepared(config, splits, budget, space, grid, queue)


def run(prepared: Prepared, resume: bool) -> int:
    """Run the study where it was asked to: on this machine, or on the cluster at ``--address``
    (joined first, so that what it lacks is refused before any file is written)."""
    config = prepared.config
    if config.address is None:
        return _run(prepared, resume, resources.local_available(), opened_storage(config, resume))
    from search.study import ray_tuner

    with ray_tuner.ray_session(config.address):
        return _run(prepared, resume, ray_tuner.cluster_available(config.address), opened_storage(config, resume))


def _run(prepared: Prepared, resume: bool, available: resources.Available, storage) -> int:
    """``storage``: what ``opened_storage`` gave."""
    config = prepared.config
    placement = resources.place(config, available)  # e.g. GPUs asked for where there are none
    study_dir = config.study_dir()
    created = not study_dir.exists()
    study_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _run_in(prepared, resume, storage, study_dir, Placed(available, placement))
    except StudyLocked:
        raise  # another driver holds this folder (perhaps it created it an instant before us): not ours to remove
    except (ValueError, OSError):
        if created and finished_rows(config) == 0:  # refused before any trial: leave no folder to block a retry
            shutil.rmtree(study_dir, ignore_errors=True)
        raise


def opened_storage(config: StudyConfig, resume: bool):
    """The shared --storage, opened (None without one): refused, before any file is written, if
    it cannot be reached or already holds a study of this name when not resuming; a resume whose
    table has finished trials that no storage holds any more is refused too."""
    from search.study import optuna_study  # Optuna's storage, then Ray, load only once the input is valid

    storage = None
    if config.storage:
        storage = optuna_study.open_storage(config.storage)
        if not resume and optuna_study.study_exists(storage, config.name):
            raise StudyError(f"storage {mask_password(config.storage)} already holds a study "
                             f"{config.name!r}: pass --resume or --name NEW_NAME")
    if resume and storage is None and not (config.study_dir() / "optuna.db").exists():
        check_resumable(config, None)  # refuses when the table has finished trials the storage lost
    return storage


@dataclass(frozen=True)
class Placed:
    """Where the trials run: what there is, and each trial's share of it."""

    available: resources.Available
    placement: resources.Placement


def _run_in(prepared: Prepared, resume: bool, storage, study_dir: Path, placed: Placed) -> int:
    from search.study import optuna_study

    config = prepared.config
    with StudyLock(study_dir):
        if not resume and (study_dir / "study.json").exists():  # another driver created it since our checks
            raise StudyError(f"study {config.name!r} already exists in {study_dir}: continue it with --resume, "
                             "or start another with --name NEW_NAME")
        if not resume or not (study_dir / "study.json").exists():
            shared = replace(config, storage=mask_password(config.storage) if config.storage else None)
            io.write_text_atomic(study_dir / "study.json", shared.to_json(), mode=0o600)  # no password at rest
        storage = storage or optuna_study.open_storage(config.storage_url())
        if resume:
            check_resumable(config, optuna_study.stored_finished(storage, config.name))
        study, stale = optuna_study.open_study(config, storage, resume, prepared.grid, prepared.queue)
        return _run_locked(prepared, study, stale, placed)


def finished_rows(config: StudyConfig) -> int:
    """Finished trials in the study's table (0 when it has none yet)."""
    folder = config.study_dir()
    if not any((folder / name).exists() for name in ("trials.parquet", "trials.csv")):
        return 0  # a new study, or one resumed from its shared storage on another machine
    return int(results.load(folder)["state"].isin(FINISHED).sum())


def check_resumable(config: StudyConfig, held: int | None) -> None:
    """Resume only what the storage still holds: a storage that lost the study, or holds fewer
    finished trials than its table, would start over and rewrite the table; refused instead,
    before anything is written. ``held``: finished trials in the storage (None: no such study)."""
    rows = finished_rows(config)
    if (held or 0) >= rows:  # also a first run that died before its storage had the study
        return
    where = mask_password(config.storage_url())
    found = "no such study" if held is None else f"only {held} finished trial(s)"
    raise StudyError(
        f"--resume: the storage {where} holds {found} for {config.name!r}, but its table "
        f"{config.study_dir() / 'trials.parquet'} has {rows}; nothing was changed. The table and the checkpoints "
        f"under {config.trial_root()}/trials are intact: restore the database, or start a new study with --name")


def _run_locked(prepared: Prepared, study, stale: list, placed: Placed) -> int:
    from search.study import optuna_study
    from search.study import ray_tuner

    config = resources.applied(prepared.config, placed.placement)  # study.json keeps "auto"; trials get numbers
    splits = prepared.splits
    table = optuna_study.TableWriter(study, config.study_dir())
    progress = Progress(config.trials)
    print(f"study {config.name}: {config.trials} trials of {config.space} on {config.dataset} "
          f"({splits.image_size}px, {len(splits.train_y)} train / {len(splits.val_y)} val / "
          f"{len(splits.test_y)} test images); storage {mask_password(config.storage_url())}; "
          f"{placed.placement.describe(placed.available)}", file=sys.stderr)
    if stale:
        print(f"resuming {len(stale)} interrupted trial(s): {[t.number for t in stale]}", file=sys.stderr)
    table.write()
    missing = config.trials - optuna_study.finished_count(study)
    if missing > 0:
        proposer = optuna_study.StudyProposer(study, prepared.space, prepared.budget, config, stale)
        try:
            with ray_tuner.ray_session(config.address, placed.available):
                ray_tuner.run_tuner(config, splits, proposer, table, progress, missing)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: what finished is in the storage; the table is written below
    return _summarise(prepared, table.write(), progress)


def _summarise(prepared: Prepared, df: pd.DataFrame, progress: Progress) -> int:
    config = prepared.config
    progress.refresh(df)
    progress.show(final=True)
    print(results.summary(df))
    print(f"results: {config.study_dir() / 'trials.parquet'} (pandas: search.results.load({str(config.study_dir())!r}))")
    done = df["state"].isin(FINISHED).sum()
    if done < config.trials:
        again = prepared.resume_command or f"python -m search.run --name {config.name} --results-dir {config.results_dir} --resume"
        print(f"interrupted with {done}/{config.trials} trials finished; continue with: {again}", file=sys.stderr)
        return 130  # Ray Tune handles Ctrl-C itself: a short study is an interrupted one
    return 0
