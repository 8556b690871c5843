"""Stem, stages and head of a NetSpec: ``build`` makes the network, ``complexity`` counts it."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from . import counting as cx
from .counting import Complexity
from .layers import DEFAULT, LayerStyle, conv, conv_cx, norm
from .residual import BasicBlock, BottleneckBlock
from .spec import NetSpec, StageSpec


def stem(spec: NetSpec, style: LayerStyle = DEFAULT) -> nn.Sequential:
    """'small': 3x3 conv, BN, ReLU. 'imagenet': 7x7/2 conv, BN, ReLU, 3x3/2 max-pool."""
    kernel, stride = (3, 1) if spec.stem == "small" else (7, 2)
    layers = [conv(style, spec.in_channels, spec.stem_width, kernel, stride), norm(style, spec.stem_width), nn.ReLU()]
    if spec.stem == "imagenet":
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(*layers)


def stem_complexity(spec: NetSpec, size: int, style: LayerStyle = DEFAULT) -> tuple[Complexity, int]:
    kernel, stride = (3, 1) if spec.stem == "small" else (7, 2)
    if spec.stem == "imagenet" and size < 4:
        raise ValueError(f"NetSpec.stem='imagenet' downsamples 4x and cannot take a {size}x{size} image: use stem='small'")
    width = spec.stem_width
    params, macs, acts, size = cx.conv_counts(size, spec.in_channels, width, kernel, stride, 1, style.conv_bias)
    if spec.stem == "imagenet":
        size = cx.pool(size, 3, 2, 1)
    return Complexity(params + cx.norm_params(width), macs, acts), size


def _block(stage: StageSpec, in_channels: int, stride: int, style: LayerStyle) -> nn.Module:
    if stage.block == "basic":
        return BasicBlock(in_channels, stage.width, stride, style=style)
    return BottleneckBlock(in_channels, stage.width, stage.bottleneck_width, stage.cardinality, stride, style=style)


def _block_complexity(stage: StageSpec, size: int, in_channels: int, stride: int, style: LayerStyle):
    if stage.block == "basic":
        return BasicBlock.complexity(size, in_channels, stage.width, stride, None, style)
    return BottleneckBlock.complexity(
        size, in_channels, stage.width, stage.bottleneck_width, stage.cardinality, stride, None, style
    )


def stage(spec: StageSpec, in_channels: int, style: LayerStyle = DEFAULT) -> nn.Sequential:
    """``depth`` blocks; only the first changes stride or width, unless a conv and a max-pool
    before them do (``downsample="pool"``)."""
    if spec.downsample == "pool":
        layers = [conv(style, in_channels, spec.width, 3), norm(style, spec.width), nn.ReLU()]
        if spec.stride > 1:
            layers.append(nn.MaxPool2d(kernel_size=spec.stride, stride=spec.stride))
        return nn.Sequential(*layers, *(_block(spec, spec.width, 1, style) for _ in range(spec.depth)))
    blocks = [_block(spec, in_channels, spec.stride, style)]
    blocks += [_block(spec, spec.width, 1, style) for _ in range(spec.depth - 1)]
    return nn.Sequential(*blocks)


def stage_complexity(spec: StageSpec, size: int, in_channels: int, style: LayerStyle = DEFAULT):
    """The first block, then ``depth - 1`` times the next one (all blocks after the first are
    equal); with ``downsample="pool"``, the conv and pool, then ``depth`` equal blocks."""
    if spec.downsample == "pool":
        pre, _ = conv_cx(style, size, in_channels, spec.width, 3)
        size = cx.pool(size, spec.stride, spec.stride, 0) if spec.stride > 1 else size
        block, _ = _block_complexity(spec, size, spec.width, 1, style)
        return pre + cx.norm(spec.width) + block * spec.depth, size
    first, out = _block_complexity(spec, size, in_channels, spec.stride, style)
    if spec.depth == 1:
        return first, out
    if spec.stride == 1 and in_channels == spec.width:  # no projection: the first block is one of them
        return first * spec.depth, out
    rest, _ = _block_complexity(spec, out, spec.width, 1, style)
    return first + rest * (spec.depth - 1), out


def head(spec: NetSpec, style: LayerStyle = DEFAULT) -> nn.Sequential:
    """[1x1 conv to head_width, BN, ReLU] -> global average pool -> linear classifier."""
    layers: list[nn.Module] = []
    if spec.head_width:
        layers += [conv(style, spec.stages[-1].width, spec.head_width, 1), norm(style, spec.head_width), nn.ReLU()]
    linear = nn.LazyLinear(spec.num_classes) if style.lazy else nn.Linear(spec.out_width, spec.num_classes)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), linear)


def head_complexity(spec: NetSpec, size: int, style: LayerStyle = DEFAULT) -> Complexity:
    total = cx.linear(spec.out_width, spec.num_classes)
    if spec.head_width:
        head_conv, _ = conv_cx(style, size, spec.stages[-1].width, spec.head_width, 1)
        total = total + head_conv + cx.norm(spec.head_width)
    return total


class Net(nn.Sequential):
    """stem -> stage1 .. stageN -> head, built eagerly from a NetSpec."""

    def __init__(self, spec: NetSpec, style: LayerStyle = DEFAULT) -> None:
        parts: list[tuple[str, nn.Module]] = [("stem", stem(spec, style))]
        channels = spec.stem_width
        for i, stage_spec in enumerate(spec.stages, start=1):
            parts.append((f"stage{i}", stage(stage_spec, channels, style)))
            channels = stage_spec.width
        parts.append(("head", head(spec, style)))
        super().__init__(OrderedDict(parts))
        self.spec = spec
        if not style.lazy:
            init_weights(self)


def init_weights(net: nn.Module) -> None:
    """He init for convs (fan-out, as torchvision), unit BN, small normal classifier."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)


def build(spec: NetSpec) -> Net:
    """The network of ``spec``: every parameter exists before the first forward."""
    if not isinstance(spec, NetSpec):
        raise ValueError(f"build() takes a NetSpec, got {type(spec).__name__}; use NetSpec.from_dict for dicts")
    return Net(spec)


def stage_input_sizes(spec: NetSpec, image_size: int, style: LayerStyle = DEFAULT) -> list[int]:
    """Spatial input size of each stage at ``image_size`` (checks that every stride fits)."""
    return _walk(spec, image_size, style)[1]


def complexity(spec: NetSpec, image_size: int, style: LayerStyle = DEFAULT) -> Complexity:
    """Exact params, MACs and activations of ``build(spec)`` at batch 1, from the spec alone."""
    return _walk(spec, image_size, style)[0]


def _walk(spec: NetSpec, image_size: int, style: LayerStyle) -> tuple[Complexity, list[int]]:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be an int >= 1, got {image_size!r}")
    total, size = stem_complexity(spec, image_size, style)
    channels, sizes = spec.stem_width, []
    for i, stage_spec in enumerate(spec.stages):
        if size < stage_spec.stride:
            raise ValueError(
                f"NetSpec.stages[{i}].stride={stage_spec.stride} gets a {size}x{size} input at image_size "
                f"{image_size}: set that stage's stride to 1, drop stages, or use larger images"
            )
        sizes.append(size)
        stage_cx, size = stage_complexity(stage_spec, size, channels, style)
        total, channels = total + stage_cx, stage_spec.width
    return total + head_complexity(spec, size, style), sizes
