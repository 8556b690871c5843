"""Which config a command runs: as given for a new study, as saved (plus what a resume may
change) for an existing one; and whether the storage still holds what the table says finished."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from search.config.study import StudyConfig
from search.core.errors import StudyError
from search.core.lock import StudyLock
from search.core.masking import mask_password
from search.results import tables as results
from search.results.schema import FINISHED


def resolve(config: StudyConfig, resume: bool, given: Mapping[str, Any]) -> StudyConfig:
    """The config to run: ``config`` for a new study; on resume the saved one, with the
    settings ``given`` on the command line that a resume may change."""
    StudyLock(config.study_dir()).check_free()  # a running study is named, whatever was asked
    if not resume:
        if config.study_dir().exists():
            raise StudyError(f"study {config.name!r} already exists in {config.study_dir()}: continue it with --resume, "
                             "or start another with --name NEW_NAME")
        return config
    stored = saved_config(config)
    if stored is None:
        raise StudyError(f"--resume: there is no study {config.name!r} in {config.study_dir()} (no study.json)"
                         + ("" if config.storage else "; a study kept in a shared --storage can be resumed from it"))
    given = dict(given)
    stored = with_storage_secret(stored, given.pop("storage", None))
    return stored.resumed(given)


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


def saved_config(config: StudyConfig) -> StudyConfig | None:
    """The config the study was created with: its study.json, else (resuming on another machine)
    the copy kept in its shared Optuna storage."""
    saved = config.study_dir() / "study.json"
    if saved.exists():
        return StudyConfig.from_json(saved.read_text())
    if not config.storage or (config.storage.startswith("sqlite:///") and not Path(config.storage[10:]).exists()):
        return None  # nothing shared to resume from (and no empty SQLite file left behind)
    from search.study import optuna_study

    text = optuna_study.stored_config(optuna_study.open_storage(config.storage), config.name)
    return None if text is None else replace(StudyConfig.from_json(text), storage=config.storage)


def finished_rows(config: StudyConfig) -> int | None:
    """Finished trials in the study's table: 0 when it has none yet, None when it cannot be read
    (damaged: the storage, which holds the truth, rewrites it)."""
    folder = config.study_dir()
    if not any((folder / name).exists() for name in ("trials.parquet", "trials.csv")):
        return 0  # a new study, or one resumed from its shared storage on another machine
    try:
        return int(results.load(folder)["state"].isin(FINISHED).sum())
    except (ValueError, OSError):
        return None


def check_resumable(config: StudyConfig, held: int | None) -> None:
    """Resume only what the storage still holds: a storage that lost the study, or holds fewer
    finished trials than its table, would start over and rewrite the table; refused instead,
    before anything is written. ``held``: finished trials in the storage (None: no such study)."""
    rows = finished_rows(config)
    where = mask_password(config.storage_url())
    table = config.study_dir() / "trials.parquet"
    if rows is None and held is None:
        raise StudyError(f"--resume: the table {table} cannot be read and the storage {where} holds no study "
                         f"{config.name!r}: there is nothing to resume from; restore either, or start a new study with --name")
    if rows is None or (held or 0) >= rows:  # also a first run that died before its storage had the study
        return
    found = "no such study" if held is None else f"only {held} finished trial(s)"
    raise StudyError(
        f"--resume: the storage {where} holds {found} for {config.name!r}, but its table "
        f"{table} has {rows}; nothing was changed. The table and the checkpoints "
        f"under {config.trial_root()}/trials are intact: restore the database, or start a new study with --name")
