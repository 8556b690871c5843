"""TrialPlan: everything one trial is given, built once when Optuna defines the trial and handed
to its Ray worker as is. No Ray or Optuna here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from blocks import NetSpec, complexity, grouping_reduction

from search.core import io
from search.config.resources import Placement
from search.config.study import StudyConfig
from search.config.train import TrainConfig


@dataclass(frozen=True)
class TrialPlan:
    number: int  # Optuna's trial number: names the table row and the checkpoint folder
    spec: NetSpec  # the network the trial builds and trains
    train: TrainConfig  # how it trains; train.seed = study seed + number (weights and data order)
    checkpoint: Path | str  # where it keeps its last epoch: a local path, or a pyarrow URI (a str)
    cpus: float  # CPUs Ray gives the trial: its torch threads
    gpus: float  # GPUs Ray gives the trial; > 0 trains on CUDA when there is one
    weights: Path | str | None = None  # where the final network goes (<weights>.pt state dict, .json spec); None: not kept

    @property
    def seed(self) -> int:
        return self.train.seed

    @property
    def threads(self) -> int:
        return max(1, int(self.cpus))


@dataclass(frozen=True)
class QueuedTrial:
    """Parameters to run before the sampler proposes any: a retraining's finalists, a warm
    start's earlier best trials."""

    params: dict[str, Any]  # the sampled parameters, replayed by the space (and fitted to this budget)
    user_attrs: dict[str, Any]  # stored on the trial, e.g. where the parameters came from


def checkpoint_path(root: Path | str, number: int) -> Path | str:
    """Where trial ``number`` keeps its last epoch under ``root`` (a folder or a URI)."""
    return io.join(root, "trials", f"{number:05d}", "checkpoint.pt")


def make_plan(config: StudyConfig, placement: Placement, number: int, spec: NetSpec) -> TrialPlan:
    return TrialPlan(
        number=number, spec=spec, train=replace(config.train, seed=config.seed + number),
        checkpoint=checkpoint_path(config.trial_root(), number),
        cpus=placement.cpus_per_trial, gpus=placement.gpus_per_trial,
        weights=io.join(config.trial_root(), "models", f"{number:05d}") if config.save_weights else None,
    )


def plan_columns(plan: TrialPlan, image_size: int) -> dict[str, Any]:
    """The results columns a plan decides (schema source ``plan``), computed once per trial."""
    spec = plan.spec
    cx = complexity(spec, image_size)
    reduction = grouping_reduction(spec, image_size)
    return {
        "arch": spec.to_json(), "acts": cx.acts, "flops": cx.flops, "max_cardinality": spec.max_cardinality,
        "min_group_width": min(s.group_width for s in spec.stages), "seed": plan.seed, **reduction.to_dict(),
    }
