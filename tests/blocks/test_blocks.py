"""The seed's examples, the spec's validation and round-trip, the builder and the presets."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from torch import nn

import blocks
from blocks import BottleneckBlock, NetSpec, ResNet18, ResNeXtBlock, Residual, StageSpec, build, presets


# --- the seed's examples ------------------------------------------------------------------


def test_residual_keeps_shape():
    assert Residual(3)(torch.randn(4, 3, 6, 6)).shape == (4, 3, 6, 6)


def test_residual_with_projection_halves_and_widens():
    assert Residual(6, use_1x1conv=True, strides=2)(torch.randn(4, 3, 6, 6)).shape == (4, 6, 3, 3)


def test_resnext_block_keeps_shape_and_groups_means_channels_per_group():
    block = ResNeXtBlock(32, 16, 1)
    assert block(torch.randn(4, 32, 96, 96)).shape == (4, 32, 96, 96)
    assert block.conv2.groups == 32 // 16  # the seed's `groups` is the group width
    assert "channels PER GROUP" in ResNeXtBlock.__doc__


def test_resnet18_layer_summary_prints_the_seeds_six_lines(capsys):
    ResNet18(num_classes=10).layer_summary((1, 1, 96, 96))
    lines = capsys.readouterr().out.splitlines()
    shapes = [(1, 64, 24, 24), (1, 64, 24, 24), (1, 128, 12, 12), (1, 256, 6, 6), (1, 512, 3, 3), (1, 10)]
    assert lines == [f"Sequential output shape:\t {torch.Size(s)}" for s in shapes]


def test_seed_classes_are_the_general_blocks_with_the_seed_style():
    assert isinstance(Residual(8), blocks.BasicBlock)
    assert isinstance(ResNeXtBlock(32, 16, 1), BottleneckBlock)
    res = Residual(8, use_1x1conv=True)
    assert res.conv1.bias is not None and len(res.proj) == 1  # conv bias, no BN on the projection
    nxt = ResNeXtBlock(32, 16, 1, use_1x1conv=True)
    assert len(nxt.proj) == 2  # the seed's ResNeXt block normalises its projection


# --- spec ---------------------------------------------------------------------------------


def test_spec_round_trips_through_json_and_is_hashable(spec_and_size):
    spec, _ = spec_and_size
    again = NetSpec.from_json(json.dumps(json.loads(spec.to_json())))
    assert again == spec and hash(again) == hash(spec)
    assert NetSpec.from_dict(spec.to_dict()) == spec
    assert len({spec, again}) == 1


def test_dense_twin_ungroups_and_keeps_widths(spec_and_size):
    spec, _ = spec_and_size
    dense = spec.dense()
    assert all(s.cardinality == 1 for s in dense.stages)
    assert [(s.width, s.bottleneck_width, s.depth) for s in dense.stages] == [
        (s.width, s.bottleneck_width, s.depth) for s in spec.stages
    ]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: StageSpec(0, 16), ["depth", ">= 1"]),
        (lambda: StageSpec(1, 0), ["width"]),
        (lambda: StageSpec(1, 16, 0), ["stride"]),
        (lambda: StageSpec(1, 16, block="dense"), ["block", "bottleneck"]),
        (lambda: StageSpec(1, 64, 1, "bottleneck", 0.25, 32), ["not divisible by cardinality 32", "divides 16"]),
        (lambda: StageSpec(1, 64, 1, "bottleneck", 0.0, 1), ["bottleneck_ratio", "> 0"]),
        (lambda: StageSpec(1, 2, 1, "bottleneck", 0.2, 1), ["bottleneck width of 0", "raise"]),
        (lambda: StageSpec(1, 64, cardinality=4), ["block='basic'", "block='bottleneck'"]),
        (lambda: StageSpec(True, 64), ["depth"]),
        (lambda: NetSpec(()), ["stages", "non-empty"]),
        (lambda: NetSpec((StageSpec(1, 8),), stem="huge"), ["stem", "imagenet"]),
        (lambda: NetSpec((StageSpec(1, 8),), in_channels=0), ["in_channels"]),
        (lambda: NetSpec((StageSpec(1, 8),), num_classes=0), ["num_classes"]),
        (lambda: NetSpec((StageSpec(1, 8),), head_width=-1), ["head_width"]),
        (lambda: NetSpec.from_dict({"stages": [{"depth": 1, "width": 8, "groups": 2}]}), ["unknown keys", "groups"]),
        (lambda: NetSpec.from_dict({"stem": "small"}), ["needs 'stages'"]),
        (lambda: NetSpec.from_json("{not json"), ["not valid JSON"]),
        (lambda: blocks.complexity(NetSpec((StageSpec(1, 8, 2),) * 4), 8), ["stages[3].stride=2", "1x1", "stride to 1"]),
        (lambda: blocks.complexity(NetSpec((StageSpec(1, 8),), stem="imagenet"), 3), ["stem='small'"]),
        (lambda: blocks.complexity(NetSpec((StageSpec(1, 8),)), 0), ["image_size"]),
        (lambda: build({"stages": []}), ["NetSpec.from_dict"]),
    ],
)
def test_bad_specs_raise_value_error_naming_field_and_fix(make, words):
    with pytest.raises(ValueError) as err:
        make()
    for word in words:
        assert word in str(err.value)
    assert "\n" not in str(err.value)


# --- builder and presets ------------------------------------------------------------------


def test_build_is_eager_and_runs(spec_and_size):
    spec, size = spec_and_size
    net = build(spec).eval()
    assert not any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters())
    with torch.no_grad():
        out = net(torch.randn(2, spec.in_channels, size, size))
    assert out.shape == (2, spec.num_classes)


def test_grouped_convs_have_the_specs_cardinality():
    spec = NetSpec((StageSpec(2, 64, 1, "bottleneck", 0.5, 8),))
    convs = [m for m in build(spec).modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [c.groups for c in convs] == [8, 8] and all(c.in_channels == 32 for c in convs)


@pytest.mark.parametrize(
    "name, params",
    [("resnet18", 11_689_512), ("resnet50", 25_557_032), ("resnext50_32x4d", 25_028_904)],
)
def test_presets_match_torchvision(name, params):
    ours = build(getattr(presets, name)())
    theirs = getattr(torchvision.models, name)()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours) == count(theirs) == params
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert ours.eval()(x).shape == theirs.eval()(x).shape == (1, 1000)


@pytest.mark.parametrize("stage, words", [
    (dict(depth=0, width=16), "depth must be an int >= 1"),  # only a pooled stage may have no block
    (dict(depth=1, width=16, downsample="maxpool"), "downsample must be one of"),
])
def test_a_stage_that_cannot_be_built_is_refused(stage, words):
    with pytest.raises(ValueError, match=words):
        StageSpec(**stage)


def test_a_pooled_stage_is_a_conv_and_a_max_pool_before_its_blocks_and_json_keeps_older_specs():
    spec = NetSpec((StageSpec(0, 32, 2, downsample="pool"), StageSpec(1, 32, 1)), stem_width=16)
    net = build(spec)
    assert [type(m).__name__ for m in net.stage1] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert net(torch.zeros(2, 3, 16, 16)).shape == (2, 10)
    assert NetSpec.from_json(spec.to_json()) == spec and '"downsample": "pool"' in spec.to_json()
    assert "downsample" not in NetSpec((StageSpec(1, 16),)).to_json()  # a spec without the choice, as written before
