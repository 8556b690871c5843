"""Training of one built network (no Ray here): SGD with Nesterov momentum, weight decay, label
smoothing, a one-cycle or cosine schedule over the full epoch budget; channels_last everywhere,
bf16 autocast on CUDA, optional ``torch.compile``; seeded, and resumable from ``state_dict`` at
any epoch boundary. On CUDA no step waits for the GPU: batches are drawn on the device, the
divergence check reads its flag asynchronously, and the step is a CUDA graph (search/step.py)."""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from search.data.batches import DeviceData
from search.config.train import TrainConfig
from search.training.step import DivergedError, DivergenceWatch, EagerStep, make_step

SCHEDULER_STATE = ("last_epoch", "_step_count", "_last_lr")  # where a schedule is; the rest comes from the config
__all__ = ["DivergedError", "EpochMetrics", "TrainConfig", "Trainer", "seeded_net"]


@dataclass(frozen=True)
class EpochMetrics:
    """What one epoch of training gives."""

    epoch: int  # epochs done, this one included
    val_accuracy: float  # validation accuracy after this epoch
    best_accuracy: float  # the best validation accuracy so far
    val_loss: float  # mean validation loss after this epoch
    train_loss: float  # mean training loss over this epoch
    train_seconds: float  # this epoch's training
    eval_seconds: float  # this epoch's validation pass
    images_per_second: float  # training throughput of this epoch
    compile_seconds: float | None = None  # what torch.compile took (None: not compiled)
    step_mode: str = "eager"  # how the step ran: eager, graph, or eager with the reason capture failed
    capture_seconds: float = 0.0  # warm-up and capture of the graphed step (not in train_seconds)


def check_fits(data: DeviceData, config: TrainConfig) -> None:
    """ValueError when ``data`` cannot train or judge a network: a batch larger than the training
    split (every batch is full, so no step would run) or an empty validation split."""
    if config.batch_size > data.size("train"):
        raise ValueError(f"batch size {config.batch_size} is larger than the training split "
                         f"({data.size('train')} images): no step would train")
    if data.size("val") == 0:
        raise ValueError("the validation split is empty: no epoch could be judged")


class Trainer:
    """Trains ``net`` on ``data``; ``epochs()`` yields the metrics of each epoch."""

    def __init__(self, net: nn.Module, data: DeviceData, config: TrainConfig, device: torch.device) -> None:
        check_fits(data, config)
        # NHWC: cuDNN and oneDNN convolutions run faster in it (bench/trainer_vs_textbook.py)
        self.net = net.to(device, memory_format=torch.channels_last)
        self.data, self.config, self.device = data, config, device
        self.model = torch.compile(self.net) if config.compile else self.net  # shares self.net's weights
        self.compile_seconds = 0.0 if config.compile else None
        self.steps_per_epoch = max(1, data.size("train") // config.batch_size)
        decay = [p for p in net.parameters() if p.ndim > 1]
        no_decay = [p for p in net.parameters() if p.ndim <= 1]  # BN and biases
        # a captured step reads its learning rate from a device tensor (the schedule fill_s it);
        # the fused kernel takes such a tensor without reading it back to the host
        self.graphable = uses_device_lr(device, config)
        self.optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=torch.tensor(config.lr, device=device) if self.graphable else config.lr,
            momentum=config.momentum, nesterov=True, fused=True if self.graphable else None,
        )
        total = config.epochs * self.steps_per_epoch
        if config.schedule == "onecycle":  # constant momentum: a captured step cannot read a changing float
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer, config.lr, total_steps=total, pct_start=0.25, cycle_momentum=False)
        else:  # cosine in closed form from a number: CosineAnnealingLR's recursion would read the tensor back
            for group in self.optimizer.param_groups:
                group["initial_lr"] = config.lr
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, functools.partial(_cosine, total=total))
        self.loss = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.epoch, self.best_accuracy = 0, 0.0
        self.step, self.step_mode = None, "eager"  # built on the first batch (search/step.py)
        self.capture_seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        """Portable: learning rates as numbers, so a checkpoint taken on a GPU resumes on a CPU."""
        optimizer = self.optimizer.state_dict()
        optimizer["param_groups"] = [{**g, "lr": float(g["lr"])} for g in optimizer["param_groups"]]
        saved = self.scheduler.state_dict()
        scheduler = {k: saved[k] for k in SCHEDULER_STATE}
        scheduler["_last_lr"] = [float(lr) for lr in scheduler["_last_lr"]]
        return {
            "net": self.net.state_dict(), "optimizer": optimizer,
            "scheduler": scheduler, "epoch": self.epoch, "best_accuracy": self.best_accuracy,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.step is not None:
            raise RuntimeError("load a checkpoint before the first epoch: a captured step holds the old tensors")
        self.net.load_state_dict(state["net"])
        kernels = [{k: g[k] for k in ("fused", "foreach")} for g in self.optimizer.param_groups]
        self.optimizer.load_state_dict(state["optimizer"])
        for group, kernel in zip(self.optimizer.param_groups, kernels):  # this device's kernels, not the saver's
            group.update(kernel)
            if self.graphable:  # the loaded groups hold numbers: back to device tensors the step can read
                group["lr"] = torch.tensor(float(group["lr"]), device=self.device)
        # only the schedule's position: the rest follows from the config (and a checkpoint written before the
        # schedule changed, e.g. with a cycling momentum or CosineAnnealingLR's fields, resumes on today's)
        self.scheduler.load_state_dict({**self.scheduler.state_dict(), **{
            k: v for k, v in state["scheduler"].items() if k in SCHEDULER_STATE}})
        self.epoch, self.best_accuracy = int(state["epoch"]), float(state["best_accuracy"])

    def _autocast(self):
        # no cast cache: PyTorch's advice for autocast inside a captured CUDA graph; each weight is cast once a step anyway
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda", cache_enabled=False)

    def train_epoch(self) -> torch.Tensor:
        """One epoch; the mean training loss, left on the device (reading it waits for the GPU).
        Data order and augmentation depend on (seed, epoch) only, so a resumed trial sees the
        batches it would have seen."""
        self.net.train()
        generator = torch.Generator(self.device).manual_seed(self.config.seed * 100_003 + self.epoch)
        total = torch.zeros((), device=self.device)
        watch = DivergenceWatch(self.device)
        for step, (x, y) in enumerate(self.data.train_batches(self.config.batch_size, generator)):
            if self.step is None:
                start = time.perf_counter()
                eager = EagerStep(self.model, self.loss, self.optimizer, self._autocast)
                self.step, self.step_mode = make_step(self.graphable, eager, x, y)
                self.capture_seconds = time.perf_counter() - start
            loss = self.step(x, y)
            watch.add(loss, step, self.epoch + 1)
            self.scheduler.step()
            total += loss
        return total / self.steps_per_epoch

    @torch.no_grad()
    def evaluate(self, split: str = "val", batch_size: int = 512) -> tuple[float, float]:
        """(accuracy, mean loss) on a split."""
        self.net.eval()
        correct = loss = torch.zeros((), device=self.device)
        for x, y in self.data.eval_batches(split, batch_size):
            with self._autocast():
                logits = self.model(x)
            loss = loss + nn.functional.cross_entropy(logits.float(), y, reduction="sum")
            correct = correct + (logits.argmax(1) == y).sum()
        n = self.data.size(split)
        return float(correct) / n, float(loss) / n

    def compile(self) -> float:
        """Compile the training and evaluation graphs before any epoch is timed, leaving weights,
        statistics and gradients as they were; the seconds it took."""
        if self.model is self.net or self.compile_seconds:
            return self.compile_seconds or 0.0
        start = time.perf_counter()
        saved = {k: v.clone() for k, v in self.net.state_dict().items()}
        x, y = next(self.data.train_batches(self.config.batch_size, torch.Generator().manual_seed(0)))
        self.net.train()
        with self._autocast():
            self.loss(self.model(x), y).backward()
        self.optimizer.zero_grad(set_to_none=True)
        self.evaluate("val")
        self.net.load_state_dict(saved)
        self.compile_seconds = time.perf_counter() - start
        return self.compile_seconds

    def epochs(self) -> Iterator[EpochMetrics]:
        """Train the remaining epochs of the budget, yielding each epoch's metrics."""
        self.compile()
        while self.epoch < self.config.epochs:
            start = time.perf_counter()
            captured = self.capture_seconds
            train_loss = float(self.train_epoch())  # waits for the epoch's last step
            trained = time.perf_counter()
            seconds = trained - start - (self.capture_seconds - captured)  # capture apart
            if not math.isfinite(train_loss):
                raise DivergedError(f"training loss became {train_loss} in epoch {self.epoch + 1}")
            self.epoch += 1
            accuracy, val_loss = self.evaluate("val")
            self.best_accuracy = max(self.best_accuracy, accuracy)
            yield EpochMetrics(
                epoch=self.epoch, val_accuracy=accuracy, best_accuracy=self.best_accuracy, val_loss=val_loss,
                train_loss=train_loss, train_seconds=seconds, eval_seconds=time.perf_counter() - trained,
                images_per_second=self.steps_per_epoch * self.config.batch_size / seconds,
                compile_seconds=self.compile_seconds, step_mode=self.step_mode, capture_seconds=self.capture_seconds,
            )


def _cosine(step: int, total: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def uses_device_lr(device: torch.device, config: TrainConfig) -> bool:
    """Whether the step may be captured, so the learning rate must be a device tensor."""
    return device.type == "cuda" and config.step != "eager" and not config.compile


def seeded_net(build_fn, seed: int) -> nn.Module:
    """The network built under a fixed seed, so its initial weights repeat."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_fn()
