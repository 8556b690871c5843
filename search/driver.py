"""One study from start to summary: validate, load data, open the storage, run, write the table.

Everything that can reject the input runs before the study folder is created or Ray starts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import spaces

from . import results
from .config import StudyConfig
from .data import DataSpec, Splits, load
from .lock import StudyLock
from .progress import Progress


class StudyError(ValueError):
    """A study cannot start as asked; the message says what to do."""


@dataclass(frozen=True)
class Prepared:
    config: StudyConfig
    splits: Splits


def resolve(config: StudyConfig, resume: bool, overrides: dict) -> StudyConfig:
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
    for key, value in overrides.items():
        if key not in RUNTIME and value is not None and value != getattr(stored, key):
            raise StudyError(
                f"--resume: study {config.name!r} was created with {key}={getattr(stored, key)!r}; "
                f"drop that flag to resume it, or start a new study with --name"
            )
    return stored.with_overrides(**{k: v for k, v in overrides.items() if k in RUNTIME})


def saved_config(config: StudyConfig, saved: Path) -> StudyConfig | None:
    """The config the study was created with: its study.json, else (resuming on another machine)
    the copy kept in its shared Optuna storage."""
    if saved.exists():
        return StudyConfig.from_json(saved.read_text())
    if not config.storage or (config.storage.startswith("sqlite:///") and not Path(config.storage[10:]).exists()):
        return None  # nothing shared to resume from (and no empty SQLite file left behind)
    from . import study as study_module

    text = study_module.stored_config(study_module.open_storage(config.storage), config.name)
    return None if text is None else replace(StudyConfig.from_json(text), storage=config.storage)


# may differ on resume: resources, and where a cluster or shared folder is mounted on this machine
RUNTIME = {"trials", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "address", "results_dir", "storage_path"}


def prepare(config: StudyConfig, resume: bool, overrides: dict) -> Prepared:
    """Every check that needs no Ray: config, study folder, data, budget, storage."""
    config = resolve(config, resume, overrides)
    check_storage_path(config)
    splits = load(DataSpec(config.dataset, config.data_dir, config.download))
    budget = config.budget(splits.image_size, splits.channels, splits.num_classes)
    spaces.check_budget(spaces.get(config.space), budget)
    return Prepared(config, splits)


def check_storage_path(config: StudyConfig) -> None:
    """A --storage-path URI that pyarrow cannot open is refused before anything starts."""
    from .trial import filesystem_of, is_uri, one_line

    if config.storage_path and is_uri(config.storage_path):
        try:
            filesystem_of(config.storage_path)
        except Exception as err:
            raise StudyError(f"--storage-path {config.storage_path!r}: {one_line(err)}") from None


def write_json_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run(prepared: Prepared, resume: bool) -> int:
    from . import study as study_module  # Ray loads only once the input is valid

    config, splits = prepared.config, prepared.splits
    storage = None
    if config.storage:  # reachable, and no study of that name unless resuming: checked before any file
        storage = study_module.open_storage(config.storage)
        if not resume and study_module.study_exists(storage, config.name):
            raise StudyError(f"storage {study_module.mask_password(config.storage)} already holds a study "
                             f"{config.name!r}: pass --resume or --name NEW_NAME")
    study_dir = config.study_dir()
    study_dir.mkdir(parents=True, exist_ok=True)
    with StudyLock(study_dir):
        if not resume or not (study_dir / "study.json").exists():
            write_json_atomic(study_dir / "study.json", config.to_json())
        return _run_locked(config, splits, study_module, storage, resume)


def _run_locked(config: StudyConfig, splits: Splits, study_module, storage, resume: bool) -> int:
    study_dir = config.study_dir()
    storage = storage or study_module.open_storage(config.storage_url())
    study, stale = study_module.open_study(config, storage, resume)

    def write_table():
        df = results.table(study_module.trial_rows(study), study_module.integer_params(study))
        results.write(df, study_dir)
        return df

    progress = Progress(config.trials)
    print(f"study {config.name}: {config.trials} trials of {config.space} on {config.dataset} "
          f"({splits.image_size}px, {len(splits.train_y)} train / {len(splits.val_y)} val / "
          f"{len(splits.test_y)} test images); storage {study_module.mask_password(config.storage_url())}",
          file=sys.stderr)
    if stale:
        print(f"resuming {len(stale)} interrupted trial(s): {[t.number for t in stale]}", file=sys.stderr)
    write_table()
    try:
        with study_module.ray_session(config.address):
            study_module.run_tuner(config, splits, study, storage, stale, write_table, progress)
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: what finished is in the storage; the table is written below
    df = write_table()
    progress.refresh(study)
    progress.show(final=True)
    print(results.summary(df))
    print(f"results: {study_dir / 'trials.parquet'} (pandas: search.results.load({str(study_dir)!r}))")
    done = df["state"].isin(["COMPLETE", "PRUNED", "FAIL"]).sum()
    if done < config.trials:
        print(f"interrupted with {done}/{config.trials} trials finished; continue with: "
              f"python -m search.run --name {config.name} --results-dir {config.results_dir} --resume",
              file=sys.stderr)
        return 130  # Ray Tune handles Ctrl-C itself: a short study is an interrupted one
    return 0
