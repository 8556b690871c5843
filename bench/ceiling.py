"""Benchmark 2: how close a trial's training gets to this machine's float32 matrix-multiply rate,
and where the rest of the time goes.

For each network and dataset of benchmark 1 it profiles one ``Trainer`` epoch (torch.profiler,
self time per operator) and splits it into: making batches (timed alone: indexing, crop, flip,
normalise) and the optimizer's steps (timed alone; the operators of both also count among
the others), convolutions forward and backward, batch norm, other operators, and the
remainder (Python, autograd and dispatch between operators). It also times each network's
grouped 3x3 convolutions against dense ones of the same shape, forward and backward.

    python bench/ceiling.py [--datasets digits,cifar] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from _common import NETS, dataset, machine, matmul_gflops, table
from blocks import build, complexity
from search.data.batches import DeviceData
from search.config.train import TrainConfig
from search.training.train import Trainer

CATEGORIES = {  # operator-name substrings; the first that matches wins
    "conv backward": ("convolution_backward",),
    "conv forward": ("convolution",),
    "batch norm": ("batch_norm",),
}


def category(name: str) -> str:
    return next((c for c, keys in CATEGORIES.items() if any(k in name for k in keys)), "other ops")


def data_seconds(data: DeviceData, batch_size: int) -> float:
    start = time.perf_counter()
    for _ in data.train_batches(batch_size, torch.Generator().manual_seed(0)):
        pass
    return time.perf_counter() - start


def optimizer_seconds(trainer: Trainer) -> float:
    """One epoch's optimizer and schedule steps, timed alone (the gradients of the last step)."""
    start = time.perf_counter()
    for _ in range(trainer.steps_per_epoch):
        trainer.optimizer.step()
        trainer.scheduler.step()
    return time.perf_counter() - start


def profile_epoch(trainer: Trainer) -> tuple[float, dict[str, float]]:
    """Seconds of one epoch and self seconds per category of the operators it ran."""
    trainer.train_epoch()  # warm-up: oneDNN's first-call set-up is not what we measure
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        trainer.train_epoch()
        wall = time.perf_counter() - start
    seconds: dict[str, float] = dict.fromkeys([*CATEGORIES, "other ops"], 0.0)
    for event in prof.key_averages():
        seconds[category(event.key)] += event.self_cpu_time_total / 1e6
    return wall, seconds


def grouped_conv_rates(net: nn.Module, image_size: int, channels: int, batch: int) -> list[dict]:
    """GFLOP/s of each distinct grouped conv, forward + backward, against its dense twin."""
    shapes: set[tuple[int, ...]] = set()

    def record(mod: nn.Conv2d, inputs, output) -> None:
        shapes.add((mod.in_channels, mod.out_channels, mod.groups, mod.stride[0], inputs[0].shape[-1]))

    hooks = [m.register_forward_hook(record) for m in net.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    net(torch.randn(2, channels, image_size, image_size))
    for h in hooks:
        h.remove()
    rows = []
    for cin, cout, cardinality, stride, size in sorted(shapes):
        rate = {}
        for label, g in (("grouped", cardinality), ("dense", 1)):
            conv = nn.Conv2d(cin, cout, 3, stride, 1, groups=g, bias=False).to(memory_format=torch.channels_last)
            x = torch.randn(batch, cin, size, size).contiguous(memory_format=torch.channels_last).requires_grad_()
            macs = conv.weight.numel() * ((size - 1) // stride + 1) ** 2 * batch
            rate[label] = 3 * 2 * macs / _fwd_bwd_seconds(conv, x) / 1e9
        rows.append({"conv": f"{cin}->{cout} {size}px /{stride}", "cardinality": cardinality,
                     "grouped GFLOP/s": rate["grouped"], "dense GFLOP/s": rate["dense"]})
    return rows


def _fwd_bwd_seconds(conv: nn.Module, x: torch.Tensor, repeats: int = 20) -> float:
    for _ in range(3):
        conv(x).sum().backward()
    start = time.perf_counter()
    for _ in range(repeats):
        conv(x).sum().backward()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="digits,cifar")
    p.add_argument("--cifar-images", type=int, default=2_000, help="CIFAR-10 training images (shares, not totals, are measured)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench-data")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rates = {t: matmul_gflops(t) for t in sorted({1, args.threads})}
    print(machine())
    print("float32 torch.mm 2048x2048: " + ", ".join(f"{r:.1f} GFLOP/s on {t} thread(s)" for t, r in rates.items()))
    ceiling, rows, convs = rates[args.threads], [], []
    for name in args.datasets.split(","):
        splits = dataset(name, args.workdir, args.cifar_images)
        for net_name, make in NETS.items():
            spec = make(num_classes=splits.num_classes, in_channels=splits.channels)
            data = DeviceData(splits, torch.device("cpu"))
            trainer = Trainer(build(spec), data, TrainConfig(epochs=3, batch_size=args.batch_size), torch.device("cpu"))
            wall, parts = profile_epoch(trainer)
            images = trainer.steps_per_epoch * args.batch_size
            batches, optimizer = data_seconds(data, args.batch_size), optimizer_seconds(trainer)
            flops = 3 * complexity(spec, splits.image_size).flops * images
            row = {"net": net_name, "data": name, "s/epoch": wall, "of mm peak": flops / wall / 1e9 / ceiling,
                   "batches (alone)": batches / wall,
                   "optimizer (alone)": optimizer / wall}
            row.update({k: v / wall for k, v in parts.items()})
            row["python+autograd"] = max(0.0, 1 - sum(parts.values()) / wall)  # time in no operator
            rows.append(row)
            convs += [{"net": net_name, "data": name, **r}
                      for r in grouped_conv_rates(build(spec).to(memory_format=torch.channels_last),
                                                  splits.image_size, splits.channels, args.batch_size)]
            print(table(rows[-1:]), flush=True)
    print("\nshare of one epoch's wall time (profiler self time per operator class):\n" + table(rows))
    if convs:
        print("\ngrouped 3x3 convs against dense ones of the same shape (forward+backward, batch "
              f"{args.batch_size}, channels_last):\n" + table(convs))


if __name__ == "__main__":
    main()
