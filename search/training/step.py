"""The training step (forward, backward, optimizer step) and its divergence watch, neither of
which waits for the GPU.

On CUDA the step is captured once as a CUDA graph and replayed for every batch: one launch
instead of hundreds, which is what small networks at batch 256 are bound by (bench/gpu_step.py
measures it). The learning rate the graph reads is a
device tensor that the schedule fills between replays. When capture fails the step runs eagerly
and says why, once. The CPU path is the eager step.
"""

from __future__ import annotations

import logging
from typing import Callable

import torch
from torch import nn

log = logging.getLogger(__name__)

CHECK_EVERY = 10  # steps between looks at the divergence flag
WARMUP_STEPS = 3  # eager steps on a side stream before capture (cuDNN and allocator settle)


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


class DivergenceWatch:
    """Notices a non-finite training loss without a host sync: the flag is or-ed on the device,
    copied to pinned host memory every ``CHECK_EVERY`` steps without blocking, and read once
    that copy is done, so a diverged trial stops within a few dozen steps."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.flag = torch.zeros((), dtype=torch.bool, device=device)
        self.host = torch.zeros((), dtype=torch.bool, pin_memory=self.cuda)
        self.copied: torch.cuda.Event | None = None

    def add(self, loss: torch.Tensor, step: int, epoch: int) -> None:
        self.flag |= ~torch.isfinite(loss.detach())
        if step % CHECK_EVERY:
            return
        if not self.cuda:  # on the CPU the value is at hand
            self._raise_if(bool(self.flag), epoch, step)
            return
        if self.copied is not None and self.copied.query():
            self._raise_if(bool(self.host), epoch, step)
            self.copied = None
        if self.copied is None:
            self.host.copy_(self.flag, non_blocking=True)
            self.copied = torch.cuda.Event()
            self.copied.record()

    @staticmethod
    def _raise_if(diverged: bool, epoch: int, step: int) -> None:
        if diverged:
            raise DivergedError(f"training loss became nan or inf in epoch {epoch}, by step {step}")


Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, labels) -> loss, on the device


class EagerStep:
    """One optimizer step per call, run op by op."""

    def __init__(self, model: nn.Module, loss: nn.Module, optimizer: torch.optim.Optimizer, autocast) -> None:
        self.model, self.loss, self.optimizer, self.autocast = model, loss, optimizer, autocast

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            loss = self.loss(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()


class GraphedStep:
    """The eager step captured as a CUDA graph over static batch buffers (after ``WARMUP_STEPS``
    eager steps whose effect on weights, BatchNorm statistics and momentum is undone), so that
    capture changes nothing the trial would have computed."""

    def __init__(self, eager: EagerStep, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x.clone(), y.clone()
        net, optimizer = eager.model, eager.optimizer
        saved = {k: v.clone() for k, v in net.state_dict().items()}
        momenta = {p: s["momentum_buffer"].clone() for p, s in optimizer.state.items() if "momentum_buffer" in s}
        origin, side = torch.cuda.current_stream(), torch.cuda.Stream()
        try:
            side.wait_stream(origin)
            with torch.cuda.stream(side):
                for _ in range(WARMUP_STEPS):
                    eager(self.x, self.y)
            origin.wait_stream(side)
            self.loss = self._capture(eager, side)
        finally:
            # a failed capture leaves the capture stream current (torch.cuda.graph's exit stops at
            # capture_end's error): back to the caller's stream, after the side stream's work, so
            # an eager fallback's first step cannot overtake the restore below
            torch.cuda.set_stream(origin)
            origin.wait_stream(side)
            with torch.no_grad():  # undo the warm-up, in place: the graph holds these very tensors
                net.load_state_dict(saved)
                for p, state in optimizer.state.items():
                    if "momentum_buffer" in state:
                        state["momentum_buffer"].copy_(momenta.get(p, torch.zeros_like(p)))

    def _capture(self, eager: EagerStep, side: torch.cuda.Stream) -> torch.Tensor:
        """Records one step into ``self.graph``; the loss it will write. Raises what broke the
        capture, not capture_end's follow-on error about it."""
        self.graph = torch.cuda.CUDAGraph()
        eager.optimizer.zero_grad(set_to_none=True)  # backward inside the graph then writes, not adds
        broke = None
        try:
            with torch.cuda.graph(self.graph, stream=side):
                try:
                    with eager.autocast():
                        loss = eager.loss(eager.model(self.x), self.y)
                    loss.backward()
                    eager.optimizer.step()  # reads its learning rate from a device tensor the schedule fills
                except Exception as err:
                    broke = err
                    raise
        except Exception as err:
            raise (broke or err) from None
        return loss.detach()

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.x.copy_(x, non_blocking=True)
        self.y.copy_(y, non_blocking=True)
        self.graph.replay()
        return self.loss.clone()


def make_step(capture: bool, eager: EagerStep, x: torch.Tensor, y: torch.Tensor) -> tuple[Step, str]:
    """The step to train with, and what it is ('eager', 'graph', or 'eager: <why not graph>'),
    built on the first batch ``x, y``. ``capture``: on CUDA, with a learning rate in a device
    tensor (``train.uses_device_lr``); a batch off CUDA always steps eagerly."""
    if not capture or x.device.type != "cuda":
        return eager, "eager"
    try:
        return GraphedStep(eager, x, y), "graph"
    except Exception as err:  # e.g. an op that cannot be captured: the eager step still trains
        reason = " ".join(f"{type(err).__name__}: {err}".split())[:200]
        log.warning("CUDA graph capture failed, training eagerly: %s", reason)
        return eager, f"eager: {reason}"
