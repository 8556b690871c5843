"""The body of one trial, free of Ray: build the spec's network, resume from its checkpoint, time
it against its dense twin, train, and hand each epoch's metrics to ``report``. A trial that raises, diverges or runs out of memory
reports a final result with a one-line ``error`` instead of raising."""

from __future__ import annotations

import ctypes
import gc
import io
import logging
import os
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from blocks import NetSpec, build

from .batches import DeviceData
from .data import Splits
from .speed import measure
from .train import TrainConfig, Trainer, seeded_net

log = logging.getLogger(__name__)

Report = Callable[[dict[str, Any]], None]


def checkpoint_path(root: str | Path, number: int) -> Path | str:
    """Where trial ``number`` (its Optuna number) keeps its last epoch, under ``root``: a folder
    (a Path) or a pyarrow URI such as s3://bucket/study (a str)."""
    if is_uri(root):
        return f"{str(root).rstrip('/')}/trials/{number:05d}/checkpoint.pt"
    return Path(root) / "trials" / f"{number:05d}" / "checkpoint.pt"


def is_uri(location: str | Path) -> bool:
    return isinstance(location, str) and "://" in location


def save_checkpoint(path: Path | str, state: dict[str, Any]) -> None:
    """Written to a temporary file and renamed, so a kill never leaves half a checkpoint (an
    object store's rename copies a whole object)."""
    filesystem, inner = filesystem_of(path)
    parent, _, name = inner.rpartition("/")
    filesystem.create_dir(parent, recursive=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tmp = f"{parent}/.{name}.{os.getpid()}.tmp"
    with filesystem.open_output_stream(tmp) as out:
        out.write(buffer.getbuffer())
    filesystem.move(tmp, inner)


def load_checkpoint(path: Path | str) -> dict[str, Any] | None:
    """The saved state, or None (with a warning) when it is missing or unreadable."""
    try:
        filesystem, inner = filesystem_of(path)
        if filesystem.get_file_info(inner).type.name == "NotFound":
            return None
        with filesystem.open_input_stream(inner) as f:
            return torch.load(io.BytesIO(f.read()), map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or corrupt file: start this trial again
        log.warning("checkpoint %s is unreadable (%s); trial restarts from scratch", path, one_line(err))
        return None


def filesystem_of(location: Path | str):
    """(pyarrow filesystem, path inside it): a local path, or a URI such as s3://, gs://, file://."""
    from pyarrow import fs

    if is_uri(location):
        return fs.FileSystem.from_uri(location)
    return fs.LocalFileSystem(), str(Path(location).resolve())


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "no message"
    return f"{type(err).__name__}: {text}"[:300]


FAULTS_ENV = "SEARCH_FAULTS"  # e.g. "2=exception,5=nan,7=oom": reliability tests inject faults


def inject_fault(number: int, trainer: Trainer) -> None:
    """The fault ``SEARCH_FAULTS`` assigns to trial ``number``, if any: an exception, a NaN in
    the weights (the real divergence check must catch it), or a raised out-of-memory error."""
    faults = dict(item.split("=", 1) for item in os.environ.get(FAULTS_ENV, "").split(",") if "=" in item)
    kind = faults.get(str(number))
    if kind == "exception":
        raise RuntimeError(f"injected fault in trial {number}")
    if kind == "oom":
        raise torch.OutOfMemoryError(f"injected: out of memory in trial {number}")
    if kind == "nan":
        with torch.no_grad():
            next(trainer.net.parameters()).fill_(float("nan"))


def release_memory() -> None:
    """Hand the freed heap of a finished trial back to the OS: glibc keeps it otherwise, and a
    reused worker's resident memory then climbs with every trial (bench/memory.py)."""
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass


def worker_memory() -> dict[str, Any]:
    """This process's host, id and resident memory in MiB, now (Linux only) and at its peak."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    out = {"hostname": socket.gethostname(), "worker_pid": os.getpid(), "worker_peak_rss_mb": peak}
    try:
        with open("/proc/self/statm") as f:
            out["worker_rss_mb"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        pass
    return out


def device_for(gpus: float) -> torch.device:
    return torch.device("cuda" if gpus > 0 and torch.cuda.is_available() else "cpu")


def run_trial(config: dict[str, Any], splits: Splits, report: Report) -> None:
    """Train trial ``config['trial_number']`` to the end of its epoch budget (or until the
    scheduler stops it inside ``report``)."""
    release_memory()  # what the worker's previous trial left
    start = time.perf_counter()
    number, seed = int(config["trial_number"]), int(config["seed"])
    torch.set_num_threads(max(1, int(config["threads"])))
    device = device_for(float(config["gpus"]))
    train_config = TrainConfig(**config["train"], seed=seed)
    path = checkpoint_path(config["trial_root"], number)
    history: list[dict[str, float]] = []
    trainer, speed = None, {}
    try:
        spec = NetSpec.from_dict(config["arch"])
        net = seeded_net(lambda: build(spec), seed)
        trainer = Trainer(net, DeviceData(splits, device), train_config, device)
        state = load_checkpoint(path)
        if state is not None:
            trainer.load_state_dict(state["trainer"])
            history = list(state["history"])
        if history and trainer.epoch >= train_config.epochs:
            report(history[-1])  # finished before an interruption: report again, train nothing
            return
        setup = {"setup_seconds": time.perf_counter() - start}
        speed = measure(spec, splits.image_size, device)
        setup["measure_seconds"] = time.perf_counter() - start - setup["setup_seconds"]
        inject_fault(number, trainer)
        for metrics in trainer.epochs():
            metrics.update(speed)
            metrics.update(setup)
            metrics.update(worker_memory())
            metrics["trial_seconds"] = time.perf_counter() - start  # this run of the trial, all of it
            for total, part in (("train_seconds", "epoch_seconds"), ("eval_seconds", "epoch_eval_seconds")):
                metrics[total] = sum(h.get(part, 0.0) for h in history) + metrics[part]
            if trainer.epoch == train_config.epochs:
                metrics["test_accuracy"], _ = trainer.evaluate("test")
            history.append(metrics)
            save_checkpoint(path, {"trainer": trainer.state_dict(), "history": history})
            report(metrics)
    except Exception as err:  # recorded as a FAIL row with its reason; the study goes on
        log.warning("trial %d failed: %s", number, one_line(err))
        epoch = trainer.epoch if trainer is not None else 0
        best = trainer.best_accuracy if trainer is not None else 0.0
        report({**speed, "epoch": epoch, "accuracy": best, "error": one_line(err)})
