"""Specs of the reference networks: torchvision's ResNet-18/50 and ResNeXt-50 (32x4d), and the
seed's ResNet-18. Built at 224x224 with 1000 classes, the torchvision ones have exactly
torchvision's parameter counts."""

from __future__ import annotations

from .d2l import d2l_spec
from .spec import NetSpec, StageSpec

_WIDTHS = (64, 128, 256, 512)
_STRIDES = (1, 2, 2, 2)


def resnet18(num_classes: int = 1000, in_channels: int = 3) -> NetSpec:
    stages = tuple(StageSpec(2, w, s) for w, s in zip(_WIDTHS, _STRIDES))
    return NetSpec(stages, stem="imagenet", in_channels=in_channels, num_classes=num_classes)


def _bottleneck_net(ratio: float, cardinality: int, num_classes: int, in_channels: int) -> NetSpec:
    stages = tuple(
        StageSpec(d, 4 * w, s, "bottleneck", ratio, cardinality) for d, w, s in zip((3, 4, 6, 3), _WIDTHS, _STRIDES)
    )
    return NetSpec(stages, stem="imagenet", in_channels=in_channels, num_classes=num_classes)


def resnet50(num_classes: int = 1000, in_channels: int = 3) -> NetSpec:
    return _bottleneck_net(0.25, 1, num_classes, in_channels)


def resnext50_32x4d(num_classes: int = 1000, in_channels: int = 3) -> NetSpec:
    """32 groups of 4 channels in the first stage's 3x3 conv (bottleneck width 128 of 256)."""
    return _bottleneck_net(0.5, 32, num_classes, in_channels)


def d2l_resnet18(num_classes: int = 10, in_channels: int = 1) -> NetSpec:
    """The seed's ResNet-18 topology (its examples use 96x96 single-channel images). Built with
    ``blocks.build`` it has torchvision's layer style; ``blocks.ResNet18`` has the seed's."""
    return d2l_spec(((2, 64), (2, 128), (2, 256), (2, 512)), num_classes, in_channels)


def resnext_digits(num_classes: int = 10, in_channels: int = 1) -> NetSpec:
    """A network typical of the default study (resnext on digits, 2 MMACs at 8x8): its best trial
    on 2026-11-27, a 4-block stage of 16 groups of 2 channels and one 64-group block."""
    stages = (StageSpec(4, 64, 1, "bottleneck", 0.5, 16), StageSpec(1, 128, 2, "bottleneck", 0.5, 64))
    return NetSpec(stages, stem="small", stem_width=64, in_channels=in_channels, num_classes=num_classes)


def resnet18_small(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> NetSpec:
    """ResNet-18's stages for small images (3x3 stem, no max-pool), at 1/4 of its widths by
    default so that a CPU trains it in minutes: 35 MMACs at 32x32."""
    stages = tuple(StageSpec(2, width * m, s) for m, s in zip((1, 2, 4, 8), _STRIDES))
    return NetSpec(stages, stem="small", stem_width=width, in_channels=in_channels, num_classes=num_classes)


PRESETS = {"resnet18": resnet18, "resnet50": resnet50, "resnext50_32x4d": resnext50_32x4d, "d2l_resnet18": d2l_resnet18,
           "resnext_digits": resnext_digits, "resnet18_small": resnet18_small}
