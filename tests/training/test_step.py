"""The training step: no host sync on CUDA, a captured step equal to the eager one, a learning
rate held in a device tensor that the schedule and checkpoints handle as a number."""

from __future__ import annotations

import contextlib
import os

import pytest
import torch
from torch import nn

from blocks import NetSpec, StageSpec, build
from search.training import train
from search.data.batches import DeviceData
from search.data.datasets import DataSpec, load
from search.training.step import DivergedError, DivergenceWatch, EagerStep, GraphedStep
from search.config.train import TrainConfig
from search.training.train import Trainer, seeded_net

SPEC = NetSpec((StageSpec(1, 16, 1, "bottleneck", 0.5, 2), StageSpec(1, 32, 2, "bottleneck", 0.5, 4)),
               stem_width=16, in_channels=1, num_classes=10)
# REQUIRE_CUDA=1 (bench/gpu_check.sh on a GPU host) makes these fail rather than skip when CUDA is missing
cuda = pytest.mark.skipif(not torch.cuda.is_available() and os.environ.get("REQUIRE_CUDA") != "1",
                          reason="needs a CUDA GPU (bench/gpu_check.sh runs these)")


@pytest.fixture(scope="module")
def digits():
    return load(DataSpec("digits"))


def trainer(digits, device: str = "cpu", **config) -> Trainer:
    torch.set_num_threads(1)
    net = seeded_net(lambda: build(SPEC), 0)
    return Trainer(net, DeviceData(digits, torch.device(device)), TrainConfig(**config), torch.device(device))


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_a_device_learning_rate_trains_as_a_number_does_and_checkpoints_as_a_number(digits, monkeypatch, schedule):
    plain = trainer(digits, epochs=2, batch_size=128, schedule=schedule)
    losses = [m.train_loss for m in plain.epochs()]
    monkeypatch.setattr(train, "uses_device_lr", lambda device, config: True)  # the CUDA path's optimizer, on a CPU
    straight = trainer(digits, epochs=2, batch_size=128, schedule=schedule)
    assert isinstance(straight.optimizer.param_groups[0]["lr"], torch.Tensor)
    device_losses = [m.train_loss for m in straight.epochs()]
    first = trainer(digits, epochs=2, batch_size=128, schedule=schedule)
    head = [next(first.epochs()).train_loss]
    state = first.state_dict()
    assert all(type(g["lr"]) is float for g in state["optimizer"]["param_groups"])  # resumes anywhere
    resumed = trainer(digits, epochs=2, batch_size=128, schedule=schedule)
    resumed.load_state_dict(state)
    assert isinstance(resumed.optimizer.param_groups[0]["lr"], torch.Tensor)
    assert head + [m.train_loss for m in resumed.epochs()] == device_losses  # resume is exact
    assert device_losses == pytest.approx(losses, rel=1e-2)  # fused and foreach SGD round apart, nothing more
    for a, b in zip(plain.optimizer.param_groups, resumed.optimizer.param_groups):
        assert float(b["lr"]) == pytest.approx(a["lr"], rel=1e-5, abs=1e-9)  # the schedule reached the tensor


@pytest.mark.parametrize("step", [0, 10, 20])
def test_divergence_watch_raises_on_the_cpu_at_each_check(step):
    watch = DivergenceWatch(torch.device("cpu"))
    watch.add(torch.tensor(float("nan")), 1, epoch=1)  # between checks: noted, not yet raised
    with pytest.raises(DivergedError, match="epoch 1, by step"):
        watch.add(torch.tensor(1.0), step, epoch=1)


def test_a_checkpoint_cannot_replace_the_tensors_a_built_step_holds(digits):
    t = trainer(digits, epochs=2)
    next(t.epochs())
    with pytest.raises(RuntimeError, match="before the first epoch"):
        t.load_state_dict(t.state_dict())


@cuda
def test_a_cuda_training_epoch_never_waits_for_the_gpu(digits):
    t = trainer(digits, "cuda", epochs=2)
    t.train_epoch()  # the first epoch captures the step (capture itself synchronises)
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = t.train_epoch()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert t.step_mode == "graph" and torch.isfinite(loss)


@cuda
def test_graphed_and_eager_steps_give_the_same_losses(digits):
    device = torch.device("cuda")
    nets = [trainer(digits, "cuda", epochs=1) for _ in range(2)]
    x, y = next(nets[0].data.train_batches(32, torch.Generator(device).manual_seed(0)))
    eager = EagerStep(nets[0].model, nets[0].loss, nets[0].optimizer, nets[0]._autocast)
    graphed = GraphedStep(EagerStep(nets[1].model, nets[1].loss, nets[1].optimizer, nets[1]._autocast), x, y)
    batches = list(nets[0].data.train_batches(32, torch.Generator(device).manual_seed(1)))[:5]
    a = [float(eager(bx, by)) for bx, by in batches]
    b = [float(graphed(bx, by)) for bx, by in batches]
    assert b == pytest.approx(a, rel=2e-2)  # bf16 autocast: kernels may differ between eager and graph


class ReadsBackInForward(nn.Module):
    """A network whose forward reads a value back to the host: harmless eagerly, fatal to a capture."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out if bool(out.isfinite().all()) else out.nan_to_num()


class FakeCapture:
    """torch.cuda.graph on a CPU: its exit fails as CUDA's capture_end does, after an error inside
    the capture (or always, with ``end_fails``)."""

    end_fails = False

    def __init__(self, graph, stream=None) -> None:
        pass

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind, err, tb) -> None:
        if err is not None or self.end_fails:
            raise RuntimeError("capture_end: operation failed due to a previous error during capture")


class Unsupported(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("an op that cannot be captured")


@pytest.mark.parametrize("model, end_fails, expected", [
    (Unsupported(), False, "an op that cannot be captured"),  # what broke it, not capture_end's follow-on
    (nn.Linear(3, 3), True, "capture_end"),  # the body was fine: capture_end's own error
])
def test_a_failed_capture_reports_what_broke_it(monkeypatch, model, end_fails, expected):
    monkeypatch.setattr(torch.cuda, "graph", FakeCapture)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: None)
    monkeypatch.setattr(FakeCapture, "end_fails", end_fails)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    step = GraphedStep.__new__(GraphedStep)  # only its capture, which needs no stream on a CPU
    step.x, step.y = torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)
    with pytest.raises(Exception, match=expected):
        step._capture(EagerStep(model, nn.CrossEntropyLoss(), optimizer, contextlib.nullcontext), side=None)


@cuda
def test_a_step_that_cannot_be_captured_trains_eagerly_and_says_why(digits):
    device = torch.device("cuda")
    runs = {}
    for step in ("auto", "eager"):
        net = seeded_net(lambda: ReadsBackInForward(build(SPEC)), 0)
        t = Trainer(net, DeviceData(digits, device), TrainConfig(epochs=2, step=step), device)
        losses = [m.train_loss for m in t.epochs()]
        runs[step] = losses, t.step_mode
    (fallback, why), (eager, mode) = runs["auto"], runs["eager"]
    assert why.startswith("eager: ") and len(why) > len("eager: ") and mode == "eager"
    assert fallback == pytest.approx(eager, rel=2e-2)  # the failed capture's warm-up was undone


@pytest.mark.parametrize("schedule, old", [
    ("cosine", lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=90)),
    ("onecycle", lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, 0.05, total_steps=90, pct_start=0.25)),
])
def test_a_checkpoint_of_the_schedules_before_resumes_at_its_position(digits, monkeypatch, schedule, old):
    """Checkpoints written before the step could be captured held CosineAnnealingLR's state, or
    one-cycle's momentum cycling: only their position is taken, and the optimizer keeps this
    device's kernels (fused, for a learning rate in a device tensor)."""
    earlier = trainer(digits, epochs=2, schedule=schedule)
    scheduler = old(earlier.optimizer)
    for _ in range(10):
        earlier.optimizer.step()
        scheduler.step()
    state = {**earlier.state_dict(), "scheduler": scheduler.state_dict()}
    monkeypatch.setattr(train, "uses_device_lr", lambda device, config: True)
    resumed = trainer(digits, epochs=2, schedule=schedule)
    resumed.load_state_dict(state)
    assert resumed.scheduler.last_epoch == 10 and getattr(resumed.scheduler, "cycle_momentum", False) is False
    assert all(g["fused"] for g in resumed.optimizer.param_groups)
    assert next(resumed.epochs()).epoch == 1
