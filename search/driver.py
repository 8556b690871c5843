"""One study from start to summary: validate, load data, open the storage, run, write the table.

Everything that can reject the input runs before the study folder is created or Ray starts.
"""

from __future__ import annotations

import shutil
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

import spaces

from . import io, resources, results
from .cli import one_line
from .config import StudyConfig
from .data import DataSpec, Splits, load
from .lock import StudyLock, StudyLocked
from .masking import mask_password
from .plan import QueuedTrial
from .warm_start import warm_queue
from .progress import Progress
from .schema import FINISHED


class StudyError(ValueError):
    """A study cannot start as asked; the message says what to do."""


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
    from . import optuna_study

    text = optuna_study.stored_config(optuna_study.open_storage(config.storage), config.name)
    return None if text is None else replace(StudyConfig.from_json(text), storage=config.storage)


def prepare(config: StudyConfig, resume: bool, overrides: dict[str, Any]) -> Prepared:
    """Every check that needs no Ray: config, study folder, data, budget, storage."""
    check_results_dir(config.results_dir)
    config = resolve(config, resume, overrides)
    check_storage_path(config)
    check_address(config.address)
    space = spaces.get(config.space)
    grid = spaces.grid_of(space, config.space) if config.sampler == "grid" else None
    splits = load(DataSpec(config.dataset, config.data_dir, config.download))
    check_splits(config, splits)
    budget = config.budget(splits.image_size, splits.channels, splits.num_classes)
    spaces.check_budget(space, budget)
    queue = warm_queue(config) if config.warm_start and not resume else ()
    return Prepared(config, splits, budget, space, grid, queue)


def check_splits(config: StudyConfig, splits: Splits) -> None:
    """A batch no larger than the training split (``data.load`` has refused empty splits)."""
    if config.train.batch_size > len(splits.train_y):
        raise StudyError(f"--batch-size {config.train.batch_size} is larger than the training split "
                         f"({len(splits.train_y)} images): no step would train")


def check_results_dir(results_dir: str) -> None:
    """A --results-dir that is (or lies under) a file is refused before anything else."""
    blocking = io.file_in_the_way(Path(results_dir))
    if blocking is not None:
        raise StudyError(f"--results-dir {results_dir!r}: {blocking} is not a folder: give a folder, or move the file away")


def check_address(address: str | None, timeout: float = 5.0) -> None:
    """A HOST:PORT that takes no TCP connection is refused at once (``ray.init`` would wait
    for it for minutes)."""
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise StudyError(f"cannot join Ray at {address}: {err.strerror or type(err).__name__} "
                         f"(is a Ray head running there? start one with: ray start --head)") from None


def check_storage_path(config: StudyConfig) -> None:
    """A --storage-path URI that pyarrow cannot open is refused before anything starts."""
    if config.storage_path and io.is_uri(config.storage_path):
        masked = mask_password(config.storage_path)
        if masked != config.storage_path:  # it would be written to study.json, to every plan and to Ray's files
            raise StudyError(f"--storage-path {masked}: give its credentials through the environment (e.g. "
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or the cloud's credential chain, not in the URI")
        try:
            io.filesystem_of(config.storage_path)
        except Exception as err:
            raise StudyError(f"--storage-path {masked}: {mask_password(one_line(err))}") from None


def run(prepared: Prepared, resume: bool) -> int:
    """Run the study where it was asked to: on this machine, or on the cluster at ``--address``
    (joined first, so that what it lacks is refused before any file is written)."""
    if prepared.config.address is None:
        return _run(prepared, resume, resources.local_available())
    from . import ray_tuner

    with ray_tuner.ray_session(prepared.config.address):
        return _run(prepared, resume, ray_tuner.cluster_available(prepared.config.address))


def _run(prepared: Prepared, resume: bool, available: resources.Available) -> int:
    from . import optuna_study  # Optuna's storage, then Ray, load only once the input is valid

    config = prepared.config
    placement = resources.place(config, available)  # e.g. GPUs asked for where there are none
    storage = None
    if config.storage:  # reachable, and no study of that name unless resuming: checked before any file
        storage = optuna_study.open_storage(config.storage)
        if not resume and optuna_study.study_exists(storage, config.name):
            raise StudyError(f"storage {mask_password(config.storage)} already holds a study "
                             f"{config.name!r}: pass --resume or --name NEW_NAME")
    study_dir = config.study_dir()
    if resume and storage is None and not (study_dir / "optuna.db").exists():
        check_resumable(config, None)  # refuses when the table has finished trials the storage lost
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


@dataclass(frozen=True)
class Placed:
    """Where the trials run: what there is, and each trial's share of it."""

    available: resources.Available
    placement: resources.Placement


def _run_in(prepared: Prepared, resume: bool, storage, study_dir: Path, placed: Placed) -> int:
    from . import optuna_study

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
    from . import optuna_study, ray_tuner

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
