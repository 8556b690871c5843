"""anynet: the AnyNetX design space of Radosavovic et al. (2020), "Designing Network Design Spaces".

Per stage i: depth d_i <= 16, width w_i <= 1024 (multiples of 8), the paper's bottleneck ratio
b_i in {1, 2, 4} (inner width w_i / b_i; sampled here as ``bottleneck_ratio`` = 1 / b_i in
{1, 0.5, 0.25}, this project's convention) and group width g_i in {1, 2, ..., 32}. The paper's
constraints are options, giving its nested spaces:

    AnyNetX_A  no constraint                  AnyNetX_B  shared b
    AnyNetX_C  shared b and g                 AnyNetX_D  C, and w_{i+1} >= w_i
    AnyNetX_E  D, and d_{i+1} >= d_i

Non-decreasing widths and depths are obtained by sorting the sampled values (a deterministic
repair), so every name always offers the same choices. The number of stages is the largest the
image size allows (4 from 16x16 up); the stem is 3x3 (7x7/2 + pool from 128x128 up).
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from blocks import NetSpec, StageSpec

from .budget import Budget, compatible_group_width, fit, quantize, scale_depth

BOTTLENECK_RATIOS = (1.0, 0.5, 0.25)  # the paper's b = 1, 2, 4
GROUP_WIDTHS = (1, 2, 4, 8, 16, 32)
STEM_WIDTH = 32


@dataclass(frozen=True)
class AnyNetSpace:
    shared_bottleneck: bool = False
    shared_group_width: bool = False
    increasing_widths: bool = False
    increasing_depths: bool = False
    max_depth: int = 16
    max_width: int = 1024

    def __call__(self, trial: optuna.Trial, budget: Budget) -> NetSpec:
        n = budget.max_stages
        depths = [trial.suggest_int(f"depth_{i}", 1, self.max_depth) for i in range(1, n + 1)]
        widths = [trial.suggest_int(f"width_{i}", 8, self.max_width, step=8) for i in range(1, n + 1)]
        ratios = self._per_stage(trial, "bottleneck_ratio", BOTTLENECK_RATIOS, self.shared_bottleneck, n)
        group_widths = self._per_stage(trial, "group_width", GROUP_WIDTHS, self.shared_group_width, n)
        if self.increasing_widths:
            widths.sort()
        if self.increasing_depths:
            depths.sort()

        def draft(width_scale: float, depth_scale: float, relax: int) -> NetSpec:
            layers = []
            for d, w, r, g, s in zip(depths, widths, ratios, group_widths, budget.strides(n)):
                w, cardinality = compatible_group_width(quantize(w * width_scale), r, max(1, g >> relax))
                layers.append(StageSpec(scale_depth(d, depth_scale), w, s, "bottleneck", r, cardinality))
            stem_width = quantize(STEM_WIDTH * width_scale) if width_scale < 1 else STEM_WIDTH
            return NetSpec(tuple(layers), budget.stem, stem_width, 0, budget.in_channels, budget.num_classes)

        return fit(draft, budget)

    @staticmethod
    def _per_stage(trial: optuna.Trial, name: str, choices: tuple, shared: bool, n: int) -> list:
        if shared:
            return [trial.suggest_categorical(name, choices)] * n
        return [trial.suggest_categorical(f"{name}_{i}", choices) for i in range(1, n + 1)]

    def configurations(self, budget: Budget) -> int:
        """Distinct parameter settings before repairs (sorting makes fewer distinct networks)."""
        n = budget.max_stages
        b, g = len(BOTTLENECK_RATIOS), len(GROUP_WIDTHS)
        per_stage = self.max_depth * (self.max_width // 8)
        return per_stage**n * (b if self.shared_bottleneck else b**n) * (g if self.shared_group_width else g**n)


ANYNETX = {
    "anynet": AnyNetSpace(),
    "anynetx_b": AnyNetSpace(shared_bottleneck=True),
    "anynetx_c": AnyNetSpace(shared_bottleneck=True, shared_group_width=True),
    "anynetx_d": AnyNetSpace(shared_bottleneck=True, shared_group_width=True, increasing_widths=True),
    "anynetx_e": AnyNetSpace(True, True, True, True),
}
