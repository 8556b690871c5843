"""Where a study's trials run: what the machine (or the Ray cluster) has, and how each trial's
CPUs and GPU share follow from it. A request that cannot be met is refused in one line, naming
the flag and what there is, instead of Ray waiting for ever for a resource that does not exist.
No Ray here: the cluster's figures come from ``ray_tuner.cluster_available``."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from search.config.resources import Placement, ResourceRequest
from search.core.errors import StudyError

CPU_CONCURRENCY = 2  # trials at once on CPUs unless --max-concurrent says otherwise


@dataclass(frozen=True)
class Available:
    """What trials can be placed on: each node's CPUs and GPUs (a trial runs on one node)."""

    nodes: tuple[tuple[float, float], ...]  # (CPUs, GPUs) of each node
    gpu_name: str = ""  # e.g. "NVIDIA H200" ("" if none, or not known)
    where: str = "this machine"  # or "the Ray cluster at HOST:PORT"

    @property
    def cpus(self) -> float:
        return sum(c for c, _ in self.nodes)

    @property
    def gpus(self) -> float:
        return sum(g for _, g in self.nodes)

    @property
    def node_cpus(self) -> float:
        return max((c for c, _ in self.nodes), default=0.0)

    @property
    def node_gpus(self) -> float:
        return max((g for _, g in self.nodes), default=0.0)

    def fits_one_node(self, cpus: float, gpus: float) -> bool:
        return any(c >= cpus and g >= gpus for c, g in self.nodes)


def local_available() -> Available:
    """This machine, as torch sees its GPUs (CUDA_VISIBLE_DEVICES included) and the CPUs this
    process may use."""
    import torch

    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    gpus = float(torch.cuda.device_count()) if torch.cuda.is_available() else 0.0
    return Available(((cpus, gpus),), gpu_name() if gpus else "")


def gpu_name() -> str:
    """GPU 0's name through NVML, so that the driver never holds a CUDA context of its own
    (torch.cuda.get_device_name would create one, some hundreds of MB, for the whole study)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # no nvidia-ml-py, or no NVML: the header then says "GPU"
        return ""


def describe(placement: Placement, available: Available) -> str:
    """The study's first line's account of where its trials run."""
    gpus = placement.gpus_per_trial
    each = f"{placement.cpus_per_trial:g} CPU" + (f" + {gpus:g} GPU" if gpus else "")
    if gpus:
        device = f"{available.gpus:g} x {available.gpu_name or 'GPU'}"
    else:
        device = f"CPUs ({available.cpus:g}{', GPUs unused' if available.gpus else ''})"
    return f"trials run on {device} of {available.where}: {placement.max_concurrent} at once, {each} each"


def place(request: ResourceRequest, available: Available) -> Placement:
    """The placement of ``request`` on ``available``; StudyError if it cannot run there."""
    cpus = request.cpus_per_trial
    if cpus > available.node_cpus:
        raise StudyError(f"--cpus-per-trial {cpus:g}: {available.where} has at most {available.node_cpus:g} CPUs "
                         "on one node; ask for fewer")
    gpus = _gpus_per_trial(request, available)
    if not available.fits_one_node(cpus, gpus):
        raise StudyError(f"--cpus-per-trial {cpus:g} with {gpus:g} GPU(s): no node of {available.where} has both; "
                         "ask for fewer")
    if request.max_concurrent:
        return Placement(cpus, gpus, request.max_concurrent)
    slots = math.floor(available.cpus / cpus + 1e-9)
    if gpus:  # concurrency follows the GPUs: each holds 1/share trials
        slots = min(slots, math.floor(available.gpus / gpus + 1e-9))
    else:
        slots = min(slots, CPU_CONCURRENCY)
    return Placement(cpus, gpus, max(1, slots))


def _gpus_per_trial(request: ResourceRequest, available: Available) -> float:
    asked = request.gpus_per_trial
    if asked == "auto":
        return min(request.gpu_share, available.node_gpus) if available.gpus else 0.0
    if asked and not available.gpus:
        raise StudyError(f"--gpus-per-trial {asked:g}: {available.where} has no GPU (as torch and Ray see it); "
                         "leave the flag out (auto) or give 0 to train on CPUs")
    if asked > available.node_gpus:
        raise StudyError(f"--gpus-per-trial {asked:g}: {available.where} has at most {available.node_gpus:g} "
                         "GPU(s) on one node; ask for fewer")
    return float(asked)

