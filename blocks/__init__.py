"""Residual blocks, architecture specs, the network builder and analytic complexity.

Imports no Ray or Optuna: a spec in, a module or a count out."""

from . import presets
from .counting import Complexity
from .d2l import ResNet, ResNet18, ResNeXtBlock, Residual
from .grouping import GroupingReduction, grouping_reduction
from .layers import LayerStyle
from .net import Net, build, complexity
from .residual import BasicBlock, BottleneckBlock
from .spec import NetSpec, StageSpec

__all__ = [
    "BasicBlock", "BottleneckBlock", "Complexity", "GroupingReduction", "LayerStyle", "Net", "NetSpec",
    "ResNeXtBlock", "ResNet", "ResNet18", "Residual", "StageSpec", "build", "complexity",
    "grouping_reduction", "presets",
]
