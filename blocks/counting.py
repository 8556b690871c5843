"""Complexity and the per-layer counting primitives (no modules built, no tensors run).

Conventions match ``torch.utils.flop_counter``: ``macs`` counts the multiply-accumulates of
convolutions and linear layers only (no bias adds, norms, activations or pooling), ``flops`` is
twice that, and ``acts`` counts the output elements of convolutions and linear layers.
"""

from __future__ import annotations

from typing import NamedTuple

_new = tuple.__new__  # builds a Complexity without the Python-level __new__ of NamedTuple: twice as fast

Counts = tuple[int, int, int, int]  # (params, macs, acts, output size) of one layer, as plain ints


class Complexity(NamedTuple):
    """Parameters, multiply-accumulates and activations of a network at batch size 1.

    Immutable and hashable; ``+`` and ``*`` act field-wise (not as tuple concatenation or
    repetition). A NamedTuple rather than a frozen dataclass: it is built several times faster,
    and ``complexity()`` builds a few per stage."""

    params: int = 0
    macs: int = 0
    acts: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def __add__(self, other: Complexity) -> Complexity:  # type: ignore[override]
        return _new(Complexity, (self[0] + other[0], self[1] + other[1], self[2] + other[2]))

    def __mul__(self, times: int) -> Complexity:  # type: ignore[override]
        return _new(Complexity, (self[0] * times, self[1] * times, self[2] * times))

    __rmul__ = __mul__

    def to_dict(self) -> dict[str, int]:
        return {"params": self.params, "macs": self.macs, "flops": self.flops, "acts": self.acts}


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial output size of a conv or pool (floor mode), as torch computes it."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_counts(
    size: int, c_in: int, c_out: int, kernel: int, stride: int = 1, cardinality: int = 1, bias: bool = False
) -> Counts:
    """(params, macs, acts, output size) of a ``kernel`` x ``kernel`` conv with padding ``kernel // 2``.

    Plain ints, so that a block sums its layers without building a Complexity per layer."""
    if size < stride:
        raise ValueError(
            f"a stride-{stride} layer gets a {size}x{size} input: the image is too small for "
            "this many downsampling steps; use a larger image_size or fewer stride-2 stages"
        )
    out = out_size(size, kernel, stride, kernel // 2)
    weights = c_out * (c_in // cardinality) * kernel * kernel
    return weights + c_out if bias else weights, weights * out * out, c_out * out * out, out


def conv(
    size: int, c_in: int, c_out: int, kernel: int, stride: int = 1, cardinality: int = 1, bias: bool = False
) -> tuple[Complexity, int]:
    """A ``kernel`` x ``kernel`` conv with padding ``kernel // 2``: its complexity and output size."""
    params, macs, acts, out = conv_counts(size, c_in, c_out, kernel, stride, cardinality, bias)
    return _new(Complexity, (params, macs, acts)), out


def norm_params(channels: int) -> int:
    """BatchNorm: a scale and a shift per channel (running statistics are buffers)."""
    return 2 * channels


def norm(channels: int) -> Complexity:
    """BatchNorm: parameters only (no MACs, no conv/linear output)."""
    return _new(Complexity, (norm_params(channels), 0, 0))


def linear(c_in: int, c_out: int, bias: bool = True) -> Complexity:
    weights = c_in * c_out
    return _new(Complexity, (weights + c_out if bias else weights, weights, c_out))


def pool(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size of a max-pool; pooling has no parameters or MACs."""
    if size < stride:
        raise ValueError(
            f"a stride-{stride} pool gets a {size}x{size} input: use a larger image_size or the 'small' stem"
        )
    return out_size(size, kernel, stride, padding)
