"""TrainConfig: how every trial of a study trains (its seed is the study's seed + trial number)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from search.config.setting import internal, setting

SCHEDULES = ("onecycle", "cosine")  # the learning-rate schedule over the full epoch budget
STEP_MODES = ("auto", "eager", "graph")  # auto: a CUDA graph on CUDA, eager elsewhere


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = setting(10, "epoch budget of a trial")
    batch_size: int = setting(32, "training batch size")
    lr: float = setting(0.05, "peak learning rate")
    momentum: float = setting(0.9, "SGD's Nesterov momentum")
    weight_decay: float = setting(5e-4, "SGD's weight decay")
    label_smoothing: float = setting(0.1, "label smoothing of the training loss")
    schedule: str = setting("onecycle", "the learning-rate schedule over the epoch budget", name="--lr-schedule",
                            choices=SCHEDULES)
    compile: bool = setting(False, "torch.compile each trial's network (compile time reported apart)")
    seed: int = internal(0)  # weights and data order: the study's seed + the trial's number
    step: str = setting("auto", "the training step: auto (a CUDA graph on GPUs, eager on CPUs), eager, or graph "
                        "(on CPUs: eager)", choices=STEP_MODES)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"epochs must be >= 1 and batch_size >= 2, got {self.epochs}, {self.batch_size}")
        if not 0 < self.lr < math.inf or not 0 <= self.weight_decay < math.inf or not 0 <= self.label_smoothing < 1:
            raise ValueError("lr must be > 0 and finite, weight_decay >= 0 and finite, label_smoothing in [0, 1)")
        if not 0 < self.momentum < 1:  # Nesterov needs some
            raise ValueError(f"momentum must be in (0, 1), got {self.momentum!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.step not in STEP_MODES:
            raise ValueError(f"step must be one of {STEP_MODES}, got {self.step!r}")
