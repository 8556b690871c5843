"""Refusals of a study's input that need neither Ray nor the study folder: each a one-line
``StudyError`` (exit 2) that says what to do, raised before anything is written."""

from __future__ import annotations

import socket
from pathlib import Path

from search.core import io
from search.core.errors import StudyError, one_line
from search.config.study import StudyConfig
from search.data.datasets import Splits
from search.core.masking import mask_password


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

