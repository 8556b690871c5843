"""resnext_v4, the default (``--space resnext``): ``resnext_v3`` refined by its own random samples.

Derived with ``python -m search.refine`` from 48 random samples of ``resnext_v3`` (CIFAR-10,
8,000 training images, <= 10 MMACs, 5 epochs; ``bench/edf/``), as docs/spaces.md shows step by
step. A value is dropped where its bin's median error is clearly worse (its 95% interval wholly
above the best bin's) and no hand design of ``designs.py`` takes it, so every design stays a
point of the space (``--start-from``):

- one-stage networks are dropped: median error 0.636 [0.574, 0.664] against 0.496 [0.481, 0.541]
  for two stages;
- a stride-1 first stage is clearly worse too (0.582 [0.550, 0.616] against 0.498 [0.482, 0.547])
  but the He et al. ResNets and ResNeXt-29 downsample so, so it stays.

Everything else (the budget's repair included: samples spend at least half the MACs) is
``resnext_v3``'s; grouping stays free wherever a stage is a bottleneck.
"""

from __future__ import annotations

from .refined import Range, RefinedSpace, refine
from .resnext_v3 import ResNeXtV3Space

RANGES = {"stages": Range(low=2, high=4)}  # as search.refine wrote them (docs/spaces.md)


def resnext_v4() -> RefinedSpace:
    return refine(ResNeXtV3Space(), RANGES)
