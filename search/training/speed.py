"""Measured inference speed: FLOPs are not time, and grouped convolutions lose much of their FLOP
saving on real hardware (ShuffleNet V2, guideline G2; RegNet, Table 3). So each trial times its
network and its dense twin (timed only, never trained) on the device it trains on: latency at
batch 1 and throughput at a fixed batch, channels_last, bf16 autocast on CUDA. The two networks
are timed in alternation, so load from other trials affects both alike."""

from __future__ import annotations

import platform
import statistics
import time

import torch
from torch import nn

from blocks import NetSpec, build

THROUGHPUT_BATCH = 64
TARGET_SECONDS = 0.1  # per network and measure: enough repeats (>= 5) for a stable median


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu {platform.machine()} x{torch.get_num_threads()} threads"


def _prepare(net: nn.Module, device: torch.device) -> nn.Module:
    return net.eval().to(device, memory_format=torch.channels_last)


def _call(net: nn.Module, x: torch.Tensor, device: torch.device) -> float:
    """Seconds of one forward pass."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
        net(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _median_pair(nets: list[nn.Module], x: torch.Tensor, device: torch.device) -> list[float]:
    """Median seconds per forward of each net, timed in alternation after a warm-up."""
    first = [_call(net, x, device) for net in nets for _ in range(2)]
    repeats = max(5, min(50, int(TARGET_SECONDS / max(max(first), 1e-6))))
    times: list[list[float]] = [[] for _ in nets]
    for _ in range(repeats):
        for i, net in enumerate(nets):
            times[i].append(_call(net, x, device))
    return [statistics.median(t) for t in times]


@torch.inference_mode()
def measure(spec: NetSpec, image_size: int, device: torch.device, batch: int = THROUGHPUT_BATCH) -> dict:
    """latency_ms, throughput (images/s) of the spec's network and of its dense twin."""
    specs = [spec] if spec == spec.dense() else [spec, spec.dense()]  # a dense net is its own twin
    nets = [_prepare(build(s), device) for s in specs]
    shape = (spec.in_channels, image_size, image_size)
    one = torch.randn(1, *shape, device=device).contiguous(memory_format=torch.channels_last)
    many = torch.randn(batch, *shape, device=device).contiguous(memory_format=torch.channels_last)
    latency, dense_latency = (_median_pair(nets, one, device) * 2)[:2]
    seconds, dense_seconds = (_median_pair(nets, many, device) * 2)[:2]
    return {
        "latency_ms": latency * 1e3, "dense_latency_ms": dense_latency * 1e3,
        "throughput": batch / seconds, "dense_throughput": batch / dense_seconds,
        "speedup_vs_dense": dense_seconds / seconds, "device": device_name(device),
    }
