"""Complexity and the per-layer counting primitives (no modules built, no tensors run).

Conventions match ``torch.utils.flop_counter``: ``macs`` counts the multiply-accumulates of
convolutions and linear layers only (no bias adds, norms, activations or pooling), ``flops`` is
twice that, and ``acts`` counts the output elements of convolutions and linear layers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Complexity:
    """Parameters, multiply-accumulates and activations of a network at batch size 1."""

    params: int = 0
    macs: int = 0
    acts: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def __add__(self, other: Complexity) -> Complexity:
        return Complexity(self.params + other.params, self.macs + other.macs, self.acts + other.acts)

    def __mul__(self, times: int) -> Complexity:
        return Complexity(self.params * times, self.macs * times, self.acts * times)

    def to_dict(self) -> dict[str, int]:
        return {"params": self.params, "macs": self.macs, "flops": self.flops, "acts": self.acts}


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial output size of a conv or pool (floor mode), as torch computes it."""
    return (size + 2 * padding - kernel) // stride + 1


def conv(
    size: int, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = False
) -> tuple[Complexity, int]:
    """A ``kernel`` x ``kernel`` conv with padding ``kernel // 2``: its complexity and output size."""
    if size < stride:
        raise ValueError(
            f"a stride-{stride} layer gets a {size}x{size} input: the image is too small for "
            "this many downsampling steps; use a larger image_size or fewer stride-2 stages"
        )
    out = out_size(size, kernel, stride, kernel // 2)
    weights = c_out * (c_in // groups) * kernel * kernel
    cx = Complexity(params=weights + (c_out if bias else 0), macs=weights * out * out, acts=c_out * out * out)
    return cx, out


def norm(channels: int) -> Complexity:
    """BatchNorm: a scale and a shift per channel (running statistics are buffers)."""
    return Complexity(params=2 * channels)


def linear(c_in: int, c_out: int, bias: bool = True) -> Complexity:
    return Complexity(params=c_in * c_out + (c_out if bias else 0), macs=c_in * c_out, acts=c_out)


def pool(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size of a max-pool; pooling has no parameters or MACs."""
    if size < stride:
        raise ValueError(
            f"a stride-{stride} pool gets a {size}x{size} input: use a larger image_size or the 'small' stem"
        )
    return out_size(size, kernel, stride, padding)
