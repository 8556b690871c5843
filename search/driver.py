"""One study from start to summary: validate, load data, open the storage, run, write the table.

Everything that can reject the input runs before the study folder is created or Ray starts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
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
    if not saved.exists():
        raise StudyError(f"--resume: there is no study {config.name!r} in {config.study_dir()} (no study.json)")
    stored = StudyConfig.from_json(saved.read_text())
    for key, value in overrides.items():
        if key not in RUNTIME and value is not None and value != getattr(stored, key):
            raise StudyError(
                f"--resume: study {config.name!r} was created with {key}={getattr(stored, key)!r}; "
                f"drop that flag to resume it, or start a new study with --name"
            )
    return stored.with_overrides(**{k: v for k, v in overrides.items() if k in RUNTIME})


RUNTIME = {"trials", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "address", "results_dir"}


def prepare(config: StudyConfig, resume: bool, overrides: dict) -> Prepared:
    """Every check that needs no Ray: config, study folder, data, budget, storage."""
    config = resolve(config, resume, overrides)
    splits = load(DataSpec(config.dataset, config.data_dir, config.download))
    budget = config.budget(splits.image_size, splits.channels, splits.num_classes)
    spaces.check_budget(spaces.get(config.space), budget)
    return Prepared(config, splits)


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
        if not resume:
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
