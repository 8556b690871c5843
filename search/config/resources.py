"""ResourceRequest: what a study asks of the machine or cluster, ``auto`` included. The numbers
its trials run with are placed from it when the study runs (``study.resources.place``) and are
never written back here, so a study resumed on other hardware is placed anew."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

from search.config.setting import setting
from search.core.errors import require_int


def gpus_arg(text: str) -> float | str:
    """--gpus-per-trial: 'auto' or a number of GPUs."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a number, got {text!r}") from None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class ResourceRequest:
    cpus_per_trial: float = setting(1.0, "CPUs each trial gets (fractions allowed)", resumable=True)
    gpus_per_trial: float | str = setting("auto", "GPUs each trial gets; fractions share a GPU; 0 trains on CPUs; "
                                          "auto: --gpu-share of a GPU when there are GPUs, else 0",
                                          resumable=True, parse=gpus_arg)
    gpu_share: float = setting(0.25, "with --gpus-per-trial auto, the share of one GPU each trial gets "
                               "(0.25: four trials per GPU)", resumable=True)
    max_concurrent: int = setting(0, "trials running at once (0: as many as the GPUs hold at their share, within "
                                  "the CPUs; 2 on CPUs)", resumable=True)

    def __post_init__(self) -> None:
        require_int("--max-concurrent", self.max_concurrent, 0)
        if not _number(self.cpus_per_trial) or not 0 < self.cpus_per_trial < math.inf:
            raise ValueError(f"--cpus-per-trial must be a finite number > 0 (fractions allowed), got {self.cpus_per_trial!r}")
        gpus = self.gpus_per_trial
        if gpus != "auto" and (not _number(gpus) or not 0 <= gpus < math.inf):
            raise ValueError(f"--gpus-per-trial must be auto or a finite number >= 0 (fractions share a GPU), got {gpus!r}")
        if gpus != "auto" and gpus > 1 and gpus != int(gpus):
            raise ValueError(f"--gpus-per-trial {gpus:g}: above 1 it must be a whole number (Ray's rule)")
        if not _number(self.gpu_share) or not 0 < self.gpu_share <= 1:
            raise ValueError(f"--gpu-share must be in (0, 1], got {self.gpu_share!r}")


@dataclass(frozen=True)
class Placement:
    """The numbers a study's trials run with, placed from its ``ResourceRequest`` on what the
    machine or cluster has (``study.resources.place``)."""

    cpus_per_trial: float  # CPUs Ray gives each trial: its torch threads
    gpus_per_trial: float  # GPUs Ray gives each trial; a fraction shares one
    max_concurrent: int  # trials running at once
