"""Analytic complexity equals the built network: params, FlopCounterMode / 2, hooked activations."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import blocks
from blocks import NetSpec, StageSpec, build, complexity, grouping_reduction, presets
from blocks.counting import conv as conv_cx
from blocks.layers import D2L


def measured(net: nn.Module, in_channels: int, size: int) -> tuple[int, int, int]:
    """(params, macs, acts) of a built network, measured by torch at batch 1."""
    acts = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: acts.append(out.numel()))
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net.eval()(torch.randn(1, in_channels, size, size))
    for h in hooks:
        h.remove()
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return sum(p.numel() for p in net.parameters()), flops // 2, sum(acts)


def test_complexity_equals_the_built_network(spec_and_size):
    spec, size = spec_and_size
    cx = complexity(spec, size)
    assert (cx.params, cx.macs, cx.acts) == measured(build(spec), spec.in_channels, size)
    assert cx.flops == 2 * cx.macs


def test_complexity_of_the_seeds_resnet18_with_its_layer_style():
    net = blocks.ResNet18(num_classes=10)
    net(torch.randn(1, 1, 96, 96))  # materialise the lazy modules
    cx = complexity(presets.d2l_resnet18(), 96, style=D2L)
    assert (cx.params, cx.macs, cx.acts) == measured(net.net, 1, 96)


@pytest.mark.parametrize(
    "name, params, macs",
    [
        ("resnet18", 11_689_512, 1_814_073_344),
        ("resnet50", 25_557_032, 4_089_184_256),
        ("resnext50_32x4d", 25_028_904, 4_230_479_872),
    ],
)
def test_golden_figures_at_224(name, params, macs):
    cx = complexity(getattr(presets, name)(), 224)
    assert (cx.params, cx.macs, cx.flops) == (params, macs, 2 * macs)


def test_complexity_is_fast():
    spec = presets.resnext50_32x4d()
    start = time.perf_counter()
    for _ in range(200):
        complexity(spec, 224)
    assert (time.perf_counter() - start) / 200 < 1e-3


@pytest.mark.parametrize("cardinality", [1, 2, 4, 8, 16, 32, 64])
@pytest.mark.parametrize("size, stride", [(8, 1), (15, 2), (56, 1)])
def test_grouped_conv_costs_one_over_cardinality(cardinality, size, stride):
    grouped, out = conv_cx(size, 64, 64, 3, stride, cardinality)
    dense, dense_out = conv_cx(size, 64, 64, 3, stride, 1)
    assert out == dense_out
    assert grouped.params * cardinality == dense.params
    assert grouped.macs * cardinality == dense.macs
    assert grouped.acts == dense.acts
    layer = nn.Conv2d(64, 64, 3, stride, 1, groups=cardinality, bias=False)
    assert layer.weight.numel() == grouped.params


@pytest.mark.parametrize(
    "spec, size",
    [
        (presets.resnext50_32x4d(), 224),
        (NetSpec((StageSpec(2, 64, 1, "bottleneck", 1.0, 8), StageSpec(1, 128, 2, "bottleneck", 1.0, 8))), 16),
        (NetSpec((StageSpec(1, 32, 1, "bottleneck", 2.0, 64),), in_channels=1), 8),
        (NetSpec((StageSpec(2, 64, 2, "bottleneck", 1.0, 8, "pool"), StageSpec(1, 128, 2, "bottleneck", 1.0, 8))), 16),
    ],
)
def test_grouping_reduction_against_the_dense_twin(spec, size):
    red = grouping_reduction(spec, size)
    dense_net = build(spec.dense())
    assert red.params_dense == sum(p.numel() for p in dense_net.parameters())
    assert red.macs_dense == measured(dense_net, spec.in_channels, size)[1]
    assert red.param_reduction == pytest.approx(1 - red.params / red.params_dense, abs=0)
    assert red.flop_reduction == pytest.approx(1 - red.macs / red.macs_dense, abs=0)
    cardinality = spec.max_cardinality  # one cardinality in each of these specs
    assert red.conv3x3_reduction == pytest.approx(1 - 1 / cardinality, rel=1e-12)
    assert 0 < red.flop_reduction < red.conv3x3_reduction
    assert red.macs_dense - red.macs == red.conv3x3_macs_dense - red.conv3x3_macs  # only 3x3 convs change


def test_dense_spec_has_no_reduction():
    red = grouping_reduction(presets.resnet50(), 64)
    assert red.param_reduction == red.flop_reduction == red.conv3x3_reduction == 0.0


def test_resnext50_saves_what_its_grouped_convs_cost():
    red = grouping_reduction(presets.resnext50_32x4d(), 224)
    assert red.params_dense - red.params == sum(
        s.depth * 9 * s.bottleneck_width**2 * (1 - 1 / 32) for s in presets.resnext50_32x4d().stages
    )
