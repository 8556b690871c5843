"""TrainConfig: how every trial of a study trains (its seed is the study's seed + trial number)."""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("onecycle", "cosine")  # the learning-rate schedule over the full epoch budget
STEP_MODES = ("auto", "eager", "graph")  # auto: a CUDA graph on CUDA, eager elsewhere


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    schedule: str = "onecycle"
    compile: bool = False  # torch.compile the network (its default mode)
    seed: int = 0  # weights and data order
    step: str = "auto"  # one of STEP_MODES: auto is a CUDA graph on CUDA (unless compiled), eager elsewhere

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"epochs must be >= 1 and batch_size >= 2, got {self.epochs}, {self.batch_size}")
        if not 0 < self.lr < math.inf or not 0 <= self.weight_decay < math.inf or not 0 <= self.label_smoothing < 1:
            raise ValueError("lr must be > 0 and finite, weight_decay >= 0 and finite, label_smoothing in [0, 1)")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.step not in STEP_MODES:
            raise ValueError(f"step must be one of {STEP_MODES}, got {self.step!r}")
