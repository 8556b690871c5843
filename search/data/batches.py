"""Whole splits as uint8 tensors on the training device; batches normalised and augmented a batch
at a time (random crop with padding, horizontal flip), with no DataLoader workers. The random
draws come from a generator on that device, so no batch waits for a host-to-device copy."""

from __future__ import annotations

from typing import Iterator

import torch

from search.data.datasets import Splits


def random_crop(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Each image shifted by up to ``pad`` pixels in each direction, zeros filling the border."""
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy, dx = (torch.randint(0, 2 * pad + 1, (n, 1), generator=generator, device=generator.device).to(x.device)
              for _ in range(2))
    rows = (torch.arange(h, device=x.device) + dy)[:, None, :, None]
    cols = (torch.arange(w, device=x.device) + dx)[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = (torch.rand(x.shape[0], generator=generator, device=generator.device) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


class DeviceData:
    """The splits of a dataset held on ``device``."""

    def __init__(self, splits: Splits, device: torch.device, channels_last: bool = True) -> None:
        self.splits = {
            name: (torch.from_numpy(x.copy()).to(device), torch.from_numpy(y.copy()).to(device))
            for name, x, y in (
                ("train", splits.train_x, splits.train_y),
                ("val", splits.val_x, splits.val_y),
                ("test", splits.test_x, splits.test_y),
            )
        }
        mean, std = splits.mean_std()
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(shape)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(shape)
        self.augment = splits.augment
        self.pad = max(1, splits.image_size // 8)
        self.channels_last = channels_last

    def size(self, split: str) -> int:
        return len(self.splits[split][1])

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.float() / 255.0 - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled full batches (the last partial one is dropped: BatchNorm needs > 1 sample, and
        a captured step needs one shape). ``generator`` lives on the data's device (or the CPU)."""
        x_all, y_all = self.splits["train"]
        order = torch.randperm(len(y_all), generator=generator, device=generator.device).to(x_all.device)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            x = x_all[idx]
            if self.augment:
                x = random_flip(random_crop(x, self.pad, generator), generator)
            yield self._prepare(x), y_all[idx]

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x_all, y_all = self.splits[split]
        for start in range(0, len(y_all), batch_size):
            yield self._prepare(x_all[start : start + batch_size]), y_all[start : start + batch_size]
