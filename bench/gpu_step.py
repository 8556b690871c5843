"""Training-step speed, warm: the project's ``Trainer`` against a plain loop over one device
batch (eager) and the same step captured as a CUDA graph (search/training/step.py's ``GraphedStep``);
with ``--compile``, ``torch.compile(mode="reduce-overhead")`` alone. Synthetic 32x32 data.
Warm-up (capture, compile, cuDNN's first calls) is timed and reported apart; images/s count
warm steps only.

    python bench/gpu_step.py [--device cuda] [--batch 256] [--steps 60] [--nets a,b] [--compile]

Nets (issue 15's table): resnext_digits (3 channels), resnet18_small, a searched-like ResNeXt
with cardinality 8/16/32 and its dense twin. On a CPU the graph column is empty.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from _common import machine, table
from blocks import NetSpec, StageSpec, build, complexity, presets
from search.data.batches import DeviceData
from search.data.datasets import Splits
from search.training.step import EagerStep, GraphedStep
from search.config.train import TrainConfig
from search.training.train import Trainer

SEARCHED = NetSpec(tuple(StageSpec(2, w, s, "bottleneck", 0.5, c) for w, s, c in ((64, 1, 8), (128, 2, 16), (256, 2, 32))),
                   stem="small", stem_width=32, in_channels=3, num_classes=10)
NETS = {"resnext_digits": presets.resnext_digits(in_channels=3), "resnet18_small": presets.resnet18_small(),
        "searched_c32": SEARCHED, "searched_c32_dense": SEARCHED.dense()}


def synthetic(images: int) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, images).astype(np.int64)
    return Splits(x, y, x[:256], y[:256], x[:256], y[:256], tuple(str(c) for c in range(10)), augment=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer_rate(spec: NetSpec, splits: Splits, batch: int, device: torch.device) -> tuple[float, float]:
    """(warm images/s, first-epoch seconds): the Trainer over three epochs, the last two timed."""
    trainer = Trainer(build(spec), DeviceData(splits, device), TrainConfig(epochs=3, batch_size=batch), device)
    epochs = list(trainer.epochs())
    warm = epochs[1:]
    rate = sum(e.images_per_second * e.train_seconds for e in warm) / sum(e.train_seconds for e in warm)
    return rate, epochs[0].train_seconds + epochs[0].capture_seconds


def step_rate(step, x, y, steps: int, device: torch.device) -> float:
    for _ in range(3):
        step(x, y)
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    sync(device)
    return steps * len(y) / (time.perf_counter() - start)


def plain(spec: NetSpec, device: torch.device):
    net = build(spec).to(device, memory_format=torch.channels_last)
    cuda = device.type == "cuda"
    lr = torch.tensor(0.05, device=device) if cuda else 0.05
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, fused=True if cuda else None)
    autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda, cache_enabled=False)  # noqa: E731
    return EagerStep(net, nn.CrossEntropyLoss(label_smoothing=0.1), optimizer, autocast)


def measure(name: str, spec: NetSpec, args, device: torch.device) -> dict:
    x = torch.randn(args.batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,), device=device)
    row = {"net": name, "MMACs": complexity(spec, 32).macs / 1e6}
    if args.compile:  # alone: the graph's figures come from the run without --compile
        eager = plain(spec, device)
        eager.model = torch.compile(eager.model, mode="reduce-overhead" if device.type == "cuda" else "default")
        start = time.perf_counter()
        eager(x, y)
        row["compile s"] = time.perf_counter() - start
        row["compiled img/s"] = step_rate(eager, x, y, args.steps, device)
    else:
        splits = synthetic(args.batch * args.steps)
        row["Trainer img/s"], row["Trainer epoch-1 s"] = trainer_rate(spec, splits, args.batch, device)
        row["eager img/s"] = step_rate(plain(spec, device), x, y, args.steps, device)
        if device.type == "cuda":
            start = time.perf_counter()
            graphed = GraphedStep(plain(spec, device), x, y)
            row["capture s"] = time.perf_counter() - start
            row["graph img/s"] = step_rate(graphed, x, y, args.steps, device)
            row["Trainer / graph"] = row["Trainer img/s"] / row["graph img/s"]
    row["TFLOP/s (best)"] = 6 * row["MMACs"] * 1e6 * max(v for k, v in row.items() if k.endswith("img/s")) / 1e12
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=60, help="timed steps per setting (a Trainer epoch has as many)")
    p.add_argument("--nets", default=",".join(NETS))
    p.add_argument("--compile", action="store_true",
                   help="only torch.compile (reduce-overhead on CUDA): its compile time and warm rate")
    args = p.parse_args()
    device = torch.device(args.device)
    print(f"{machine()}; batch {args.batch}, {args.steps} steps, 32x32 synthetic, channels_last"
          f"{', bf16 autocast' if device.type == 'cuda' else ''}", flush=True)
    rows = []
    for name in args.nets.split(","):  # each row as it comes: a step cut off by its time limit keeps the rest
        rows.append(measure(name, NETS[name], args, device))
        print("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()),
              flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
