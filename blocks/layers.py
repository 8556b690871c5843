"""LayerStyle and the conv / norm factories that every block builds with."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from . import counting as cx


@dataclass(frozen=True)
class LayerStyle:
    """How layers are made. The builder's default is torchvision's; the seed (d2l) uses lazy
    modules, conv biases and an un-normalised 1x1 projection in the basic block."""

    lazy: bool = False
    conv_bias: bool = False
    projection_norm: bool = True


DEFAULT = LayerStyle()
D2L = LayerStyle(lazy=True, conv_bias=True, projection_norm=False)  # the seed's Residual
D2L_RESNEXT = LayerStyle(lazy=True, conv_bias=True, projection_norm=True)  # its ResNeXtBlock has bn4


def conv(style: LayerStyle, c_in: int | None, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Module:
    """A ``kernel`` x ``kernel`` conv with padding ``kernel // 2``."""
    kwargs = dict(kernel_size=kernel, stride=stride, padding=kernel // 2, groups=groups, bias=style.conv_bias)
    if style.lazy:
        return nn.LazyConv2d(c_out, **kwargs)
    if c_in is None:
        raise ValueError("in_channels is required unless the layer style is lazy")
    return nn.Conv2d(c_in, c_out, **kwargs)


def norm(style: LayerStyle, channels: int) -> nn.Module:
    return nn.LazyBatchNorm2d() if style.lazy else nn.BatchNorm2d(channels)


def conv_cx(
    style: LayerStyle, size: int, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1
) -> tuple[cx.Complexity, int]:
    """Complexity of ``conv(style, ...)`` at input size ``size``."""
    return cx.conv(size, c_in, c_out, kernel, stride, groups, bias=style.conv_bias)
