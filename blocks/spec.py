"""StageSpec and NetSpec: the frozen, hashable, JSON-round-tripping description of a network."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

BLOCKS = ("basic", "bottleneck")
STEMS = ("small", "imagenet")
# How a stage downsamples: "stride" in its first block (ResNet), or "pool": a 3x3 conv to the
# stage's width, BN, ReLU and a stride x stride max-pool before its blocks (ResNet-9, airbench)
DOWNSAMPLES = ("stride", "pool")


def _positive_int(owner: str, name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}.{name} must be an int >= {minimum}, got {value!r}")


def _from_mapping(cls: type, data: Mapping[str, Any], owner: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{owner} must be a dict, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{owner} has unknown keys {unknown}; allowed keys are {sorted(known)}")
    return dict(data)


@dataclass(frozen=True)
class StageSpec:
    """``depth`` residual blocks of output width ``width``, downsampled by ``stride``.

    ``bottleneck_ratio`` is inner width / ``width`` and ``cardinality`` the number of groups of
    the 3x3 conv; both apply to bottleneck blocks only (basic blocks have neither).
    ``downsample`` (one of DOWNSAMPLES) says how the stage changes size and width: in its first
    block, or by a conv and max-pool before its blocks; such a stage may have no block at all.
    """

    depth: int
    width: int
    stride: int = 1
    block: str = "basic"
    bottleneck_ratio: float = 1.0
    cardinality: int = 1
    downsample: str = "stride"

    def __post_init__(self) -> None:
        if self.downsample not in DOWNSAMPLES:
            raise ValueError(f"StageSpec.downsample must be one of {DOWNSAMPLES}, got {self.downsample!r}")
        _positive_int("StageSpec", "depth", self.depth, minimum=0 if self.downsample == "pool" else 1)
        _positive_int("StageSpec", "width", self.width)
        _positive_int("StageSpec", "stride", self.stride)
        _positive_int("StageSpec", "cardinality", self.cardinality)
        if self.block not in BLOCKS:
            raise ValueError(f"StageSpec.block must be one of {BLOCKS}, got {self.block!r}")
        ratio = self.bottleneck_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 0:
            raise ValueError(f"StageSpec.bottleneck_ratio must be a number > 0, got {ratio!r}")
        object.__setattr__(self, "bottleneck_ratio", float(ratio))
        if self.block == "basic":
            self._check_basic()
        else:
            self._check_bottleneck()

    def _check_basic(self) -> None:
        if self.bottleneck_ratio != 1.0 or self.cardinality != 1:
            raise ValueError(
                "StageSpec with block='basic' takes no bottleneck_ratio or cardinality "
                f"(got {self.bottleneck_ratio}, {self.cardinality}): set them to 1 or use block='bottleneck'"
            )

    def _check_bottleneck(self) -> None:
        inner = self.bottleneck_width
        if inner < 1:
            raise ValueError(
                f"StageSpec width {self.width} x bottleneck_ratio {self.bottleneck_ratio} rounds to "
                "a bottleneck width of 0: raise the width or the bottleneck_ratio"
            )
        if inner % self.cardinality:
            raise ValueError(
                f"StageSpec bottleneck width {inner} (width {self.width} x bottleneck_ratio "
                f"{self.bottleneck_ratio}) is not divisible by cardinality {self.cardinality}: "
                f"choose a cardinality that divides {inner} or a width whose bottleneck width is a "
                f"multiple of {self.cardinality}"
            )

    @property
    def bottleneck_width(self) -> int:
        """Channels of the inner (3x3) conv of a bottleneck block."""
        return int(round(self.width * self.bottleneck_ratio))

    @property
    def group_width(self) -> int:
        """Channels per group of the 3x3 conv (the seed's ``groups`` argument)."""
        inner = self.bottleneck_width if self.block == "bottleneck" else self.width
        return inner // self.cardinality

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageSpec:
        return cls(**_from_mapping(cls, data, "StageSpec"))


@dataclass(frozen=True)
class NetSpec:
    """stem -> stages -> head (optional 1x1 conv to ``head_width``, global pool, linear)."""

    stages: tuple[StageSpec, ...]
    stem: str = "small"
    stem_width: int = 64
    head_width: int = 0
    in_channels: int = 3
    num_classes: int = 10

    def __post_init__(self) -> None:
        stages = self.stages
        if isinstance(stages, (list, tuple)):
            stages = tuple(StageSpec.from_dict(s) if isinstance(s, Mapping) else s for s in stages)
        if not isinstance(stages, tuple) or not stages or not all(isinstance(s, StageSpec) for s in stages):
            raise ValueError("NetSpec.stages must be a non-empty tuple of StageSpec (or dicts of their fields)")
        object.__setattr__(self, "stages", stages)
        if self.stem not in STEMS:
            raise ValueError(f"NetSpec.stem must be one of {STEMS}, got {self.stem!r}")
        _positive_int("NetSpec", "stem_width", self.stem_width)
        _positive_int("NetSpec", "head_width", self.head_width, minimum=0)
        _positive_int("NetSpec", "in_channels", self.in_channels)
        _positive_int("NetSpec", "num_classes", self.num_classes)

    @property
    def depth(self) -> int:
        """Residual blocks in all stages."""
        return sum(s.depth for s in self.stages)

    @property
    def max_cardinality(self) -> int:
        return max(s.cardinality for s in self.stages)

    @property
    def out_width(self) -> int:
        """Channels that reach the classifier."""
        return self.head_width or self.stages[-1].width

    def dense(self) -> NetSpec:
        """The dense twin: the same network with every grouped conv ungrouped (same widths)."""
        return replace(self, stages=tuple(replace(s, cardinality=1) for s in self.stages))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # a stage that downsamples in its first block is written as before the choice existed,
        # so that every spec recorded then keeps its JSON (pools and tables match on it)
        data["stages"] = [{k: v for k, v in asdict(s).items() if (k, v) != ("downsample", "stride")} for s in self.stages]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetSpec:
        data = _from_mapping(cls, data, "NetSpec")
        if "stages" not in data:
            raise ValueError("NetSpec needs 'stages': a list of stage dicts")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NetSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"NetSpec JSON is not valid JSON: {err}") from None
        return cls.from_dict(data)
