"""The body of one trial, free of Ray: build the plan's network, resume from its checkpoint, time
it against its dense twin, train, and hand each epoch's record to ``report``. A trial that
raises, diverges or runs out of memory reports a final record with a one-line ``error``
instead of raising."""

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

from blocks import build

from search.core import io as files
from search.results import schema
from search.data.batches import DeviceData
from search.core.errors import one_line
from search.data.datasets import Splits
from search.training.plan import TrialPlan
from search.training.speed import measure
from search.training.train import EpochMetrics, Trainer, seeded_net

log = logging.getLogger(__name__)

Report = Callable[[dict[str, Any]], None]


def save_checkpoint(path: Path | str, state: dict[str, Any]) -> None:
    """Atomically, so a kill never leaves half a checkpoint."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    files.write_bytes_atomic(path, buffer.getbuffer())


def load_checkpoint(path: Path | str) -> dict[str, Any] | None:
    """The saved state, or None (with a warning) when it is missing or unreadable."""
    try:
        data = files.read_bytes(path)
        return None if data is None else torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or corrupt file: start this trial again
        log.warning("checkpoint %s is unreadable (%s); trial restarts from scratch", path, one_line(err))
        return None


def owner(plan: TrialPlan) -> str:
    """What a checkpoint must name to be resumed by ``plan``'s trial: its network and seed."""
    return f"{plan.spec.to_json()} seed={plan.seed}"


def owned_checkpoint(plan: TrialPlan) -> dict[str, Any] | None:
    """The plan's checkpoint if it was written by this trial (same network and seed), else None:
    a checkpoint left by another study or trial under the same number is never resumed.
    Checkpoints written before owners were recorded are taken as they are."""
    state = load_checkpoint(plan.checkpoint)
    if state is not None and state.get("owner", owner(plan)) != owner(plan):
        log.warning("checkpoint %s belongs to another network or seed; trial %d starts from scratch",
                    plan.checkpoint, plan.number)
        return None
    return state


def save_network(plan: TrialPlan, net: torch.nn.Module) -> None:
    """The trained network as ``<weights>.pt`` (a state dict: ``torch.load(weights_only=True)``)
    and ``<weights>.json`` (its spec: ``blocks.build(NetSpec.from_json(...))``)."""
    buffer = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in net.state_dict().items()}, buffer)
    files.write_bytes_atomic(f"{plan.weights}.pt", buffer.getbuffer())
    files.write_bytes_atomic(f"{plan.weights}.json", plan.spec.to_json().encode())


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


def device_for(plan: TrialPlan) -> torch.device:
    return torch.device("cuda" if plan.gpus > 0 and torch.cuda.is_available() else "cpu")


def run_trial(plan: TrialPlan, splits: Splits, report: Report) -> None:
    """Train the plan's network to the end of its epoch budget (or until the scheduler stops it
    inside ``report``). Each report's keys are results columns (schema source ``result``) and
    the epoch's own figures (schema ``EPOCH_COLUMNS``); the first report of a resumed run also
    carries the rows of the epochs before it (``schema.HISTORY``)."""
    release_memory()  # what the worker's previous trial left
    start = time.perf_counter()
    torch.set_num_threads(plan.threads)
    device = device_for(plan)
    history: list[dict[str, Any]] = []
    trainer, speed, earlier = None, {}, {}
    try:
        net = seeded_net(lambda: build(plan.spec), plan.seed)
        trainer = Trainer(net, DeviceData(splits, device), plan.train, device)
        state = owned_checkpoint(plan)
        if state is not None:
            trainer.load_state_dict(state["trainer"])
            history = [upgraded(h) for h in state["history"]]
        earlier = {schema.HISTORY: [schema.epoch_row(h) for h in history]}  # the epochs this run starts from
        if history and trainer.epoch >= plan.train.epochs:
            report({**history[-1], **earlier})  # finished before an interruption: report again, train nothing
            return
        setup = {"setup_seconds": time.perf_counter() - start}
        speed = measure(plan.spec, splits.image_size, device)
        setup["measure_seconds"] = time.perf_counter() - start - setup["setup_seconds"]
        inject_fault(plan.number, trainer)
        for epoch in trainer.epochs():
            record = {**epoch_record(epoch, history), **speed, **setup, **worker_memory(),
                      "trial_seconds": time.perf_counter() - start}  # this run of the trial, all of it
            if trainer.epoch == plan.train.epochs:
                record["test_accuracy"], record["test_loss"] = trainer.evaluate("test")
                if plan.weights is not None:  # before the checkpoint that marks the trial finished
                    save_network(plan, trainer.net)
            history.append(record)
            save_checkpoint(plan.checkpoint, {"trainer": trainer.state_dict(), "history": history, "owner": owner(plan)})
            report({**record, **earlier})  # a run's first report says which epochs came before it
            earlier = {}
    except Exception as err:  # recorded as a FAIL row with its reason; the study goes on
        log.warning("trial %d failed: %s", plan.number, one_line(err))
        epochs = trainer.epoch if trainer is not None else 0
        best = trainer.best_accuracy if trainer is not None else 0.0
        report({**speed, "epochs": epochs, "accuracy": best, "error": one_line(err), **earlier})


def upgraded(record: dict[str, Any]) -> dict[str, Any]:
    """A history record of a checkpoint written before the schema (``epoch``, ``epoch_seconds``)
    under today's names, so that a study interrupted then resumes now."""
    renames = {"epoch": "epochs", "epoch_seconds": "epoch_train_seconds"}
    return {renames.get(k, k): v for k, v in record.items()}


def epoch_record(epoch: EpochMetrics, history: list[dict[str, Any]]) -> dict[str, Any]:
    """One epoch's report: its own figures, and the trial's totals over all its epochs."""
    record = {
        "epochs": epoch.epoch, "accuracy": epoch.best_accuracy, "val_accuracy": epoch.val_accuracy,
        "val_loss": epoch.val_loss, "train_loss": epoch.train_loss, "images_per_second": epoch.images_per_second,
        "epoch_train_seconds": epoch.train_seconds, "epoch_eval_seconds": epoch.eval_seconds,
        "train_seconds": sum(h.get("epoch_train_seconds", 0.0) for h in history) + epoch.train_seconds,
        "eval_seconds": sum(h.get("epoch_eval_seconds", 0.0) for h in history) + epoch.eval_seconds,
    }
    record["step_mode"], record["capture_seconds"] = epoch.step_mode, epoch.capture_seconds
    if epoch.compile_seconds is not None:
        record["compile_seconds"] = epoch.compile_seconds
    return record
