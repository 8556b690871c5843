"""Benchmark 1: ``search.training.train.Trainer`` against the loop of the PyTorch CIFAR-10 tutorial, on the
same network, data, epochs and batch size, in one process, epochs in alternation.

The textbook side: an in-memory dataset that returns a PIL image per sample (as
``torchvision.datasets.CIFAR10`` does), per-sample ``RandomCrop``/``RandomHorizontalFlip``/
``ToTensor``/``Normalize``, ``DataLoader(shuffle=True, num_workers=...)``, NCHW, one SGD group,
``loss.item()`` every step. Both sides train with the same SGD settings; only training epochs are
timed (no evaluation). Achieved training FLOP rate = 3 x forward FLOPs x images/s, shown as a
fraction of this machine's matrix-multiply rate (float32 on the CPU, bf16 on a GPU, as trained).

    python bench/trainer_vs_textbook.py [--datasets digits,cifar] [--epochs 2] [--workers 0,2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from _common import NETS, dataset, machine, matmul_gflops, table
from blocks import NetSpec, build, complexity
from search.data.batches import DeviceData
from search.data.datasets import Splits
from search.config.train import TrainConfig
from search.training.train import Trainer, seeded_net


class ArrayImages(torch.utils.data.Dataset):
    """uint8 images held in memory, handed out one PIL image at a time, as torchvision's CIFAR10."""

    def __init__(self, x: np.ndarray, y: np.ndarray, transform) -> None:
        self.x, self.y, self.transform = x.transpose(0, 2, 3, 1), y, transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        image = self.x[i]
        pil = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
        return self.transform(pil), int(self.y[i])


def textbook_loader(splits: Splits, batch_size: int, workers: int) -> torch.utils.data.DataLoader:
    mean, std = splits.mean_std()
    steps = [transforms.RandomCrop(splits.image_size, padding=max(1, splits.image_size // 8)),
             transforms.RandomHorizontalFlip()] if splits.augment else []
    steps += [transforms.ToTensor(), transforms.Normalize(mean.tolist(), std.tolist())]
    data = ArrayImages(splits.train_x, splits.train_y, transforms.Compose(steps))
    # drop_last: both sides train on the same number of full batches
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True)


class Textbook:
    """The tutorial's training loop, one epoch at a time."""

    def __init__(self, net: nn.Module, loader, config: TrainConfig, device: torch.device) -> None:
        self.net, self.loader, self.device = net.to(device), loader, device
        self.optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                         nesterov=True, weight_decay=config.weight_decay)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def train_epoch(self) -> float:
        self.net.train()
        running_loss = 0.0
        for inputs, labels in self.loader:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            self.optimizer.zero_grad()
            loss = self.criterion(self.net(inputs), labels)
            loss.backward()
            self.optimizer.step()
            running_loss += loss.item()
        return running_loss / len(self.loader)


def timed_epochs(sides: dict, epochs: int) -> dict[str, float]:
    """Seconds of training per side, epochs taken in alternation so load affects all alike."""
    seconds = dict.fromkeys(sides, 0.0)
    for _ in range(epochs):
        for name, side in sides.items():
            start = time.perf_counter()
            side.train_epoch()
            seconds[name] += time.perf_counter() - start
    return seconds


def warm_up(spec: NetSpec, splits: Splits, batch_size: int, device: torch.device) -> None:
    """A few steps in both memory formats, so neither side pays the first call's set-up."""
    x = torch.randn(batch_size, splits.channels, splits.image_size, splits.image_size, device=device)
    for fmt in (torch.contiguous_format, torch.channels_last):
        net = build(spec).to(device, memory_format=fmt)
        for _ in range(3):
            net(x.contiguous(memory_format=fmt)).sum().backward()


def compare(net_name: str, spec: NetSpec, splits: Splits, args, ceiling: float) -> list[dict]:
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size)
    build_net = lambda: seeded_net(lambda: build(spec), 0)  # noqa: E731
    device = torch.device(args.device)
    sides = {f"textbook w{w}": Textbook(build_net(), textbook_loader(splits, args.batch_size, w), config, device)
             for w in args.workers}
    sides["search.train"] = Trainer(build_net(), DeviceData(splits, device), config, device)
    if args.compile:
        compiled = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, compile=True)
        sides["search.train compiled"] = Trainer(build_net(), DeviceData(splits, device), compiled, device)
        print(f"compile: {sides['search.train compiled'].compile():.1f} s (not in the figures)")
    images = args.epochs * (len(splits.train_y) // args.batch_size) * args.batch_size
    warm_up(spec, splits, args.batch_size, device)
    seconds = timed_epochs(sides, args.epochs)
    flops = 3 * complexity(spec, splits.image_size).flops
    best_textbook = min(s for n, s in seconds.items() if n.startswith("textbook"))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return [{
        "net": net_name, "data": f"{args.dataset_name} {splits.image_size}px", "loop": name,
        "images/s": images / s, "vs best textbook": best_textbook / s,
        "GFLOP/s": flops * images / s / 1e9, "of mm peak": flops * images / s / 1e9 / ceiling,
    } for name, s in seconds.items()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="digits,cifar", help="comma list of digits, cifar")
    p.add_argument("--cifar-images", type=int, default=10_000, help="training images of the CIFAR-10 subset")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", default="0", help="comma list of DataLoader workers of the textbook loop (the tutorial has 2; on 2 cores they fight the 2 training threads)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--device", default="cpu", help="cpu or cuda (the GPU check)")
    p.add_argument("--compile", action="store_true", help="also time search.train with torch.compile")
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench-data")
    args = p.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32  # what the trainer computes in
    ceiling = matmul_gflops(args.threads, n=8192 if args.device == "cuda" else 2048, device=args.device, dtype=dtype)
    print(f"{machine()}; {args.threads} threads; {dtype} mm on {args.device}: {ceiling:.1f} GFLOP/s")
    rows = []
    for name in args.datasets.split(","):
        splits = dataset(name, args.workdir, args.cifar_images)
        args.dataset_name = name
        for net_name, make in NETS.items():
            spec = make(num_classes=splits.num_classes, in_channels=splits.channels)
            rows += compare(net_name, spec, splits, args, ceiling)
            print(table(rows[-len(args.workers) - 1 - args.compile:]), flush=True)
    print("\nall:\n" + table(rows))


if __name__ == "__main__":
    main()
