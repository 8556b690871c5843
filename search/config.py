"""StudyConfig: everything a study needs, validated before anything starts, saved in its folder."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from spaces import Budget

from .train import TrainConfig

SAMPLERS = ("tpe", "random", "nsga2", "gp", "qmc")
SCHEDULERS = ("asha", "fifo")
STOPPED_AS = ("pruned", "complete")  # how a scheduler-stopped trial is told to Optuna
OBJECTIVES = {"accuracy": "max", "macs": "min", "params": "min", "flops": "min"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5})$")
# Default upper MACs bound per dataset, so the default study fits a laptop's minutes.
DEFAULT_MAX_MMACS = {"digits": 2.0}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise ValueError(
            f"study name {name!r} must be a plain name: letters, digits, '.', '_' or '-', no path "
            "separators or '..', at most 100 characters"
        )
    return name


def default_name(space: str, dataset: str) -> str:
    """'<space>-<dataset>', with a user space's function and an image folder's base name."""
    space_part = space.rpartition(":")[2] or space
    data_part = dataset if not dataset.startswith("imagefolder:") else "imagefolder-" + Path(dataset[12:]).name
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{space_part}-{data_part}").strip("._-")[:100] or "study"


@dataclass(frozen=True)
class StudyConfig:
    space: str = "resnext"
    dataset: str = "digits"
    data_dir: str = "data"
    download: bool = False
    trials: int = 24
    epochs: int = 10
    min_mmacs: float = 0.0
    max_mmacs: float | None = None
    min_mparams: float = 0.0
    max_mparams: float | None = None
    sampler: str = "tpe"
    scheduler: str = "asha"
    stopped_as: str = "pruned"
    objectives: tuple[str, ...] = ("accuracy",)
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int = 2
    seed: int = 0
    name: str = ""
    results_dir: str = "results"
    storage: str | None = None
    address: str | None = None
    storage_path: str | None = None
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", default_name(self.space, self.dataset))
        check_name(self.name)
        object.__setattr__(self, "objectives", tuple(self.objectives))
        self._check_choices()
        self._check_numbers()
        TrainConfig(epochs=self.epochs, **self.train)  # raises on bad training settings

    def _check_choices(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}: choose from {', '.join(SAMPLERS)}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.scheduler!r}: choose from {', '.join(SCHEDULERS)}")
        if self.stopped_as not in STOPPED_AS:
            raise ValueError(f"--stopped-as must be one of {', '.join(STOPPED_AS)}, got {self.stopped_as!r}")
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad or not self.objectives or self.objectives[0] != "accuracy" or len(set(self.objectives)) != len(self.objectives):
            raise ValueError(
                f"objectives {','.join(self.objectives)!r}: the first must be accuracy, then any of "
                f"{', '.join(o for o in OBJECTIVES if o != 'accuracy')}, each once"
            )
        if self.sampler == "qmc" and len(self.objectives) > 1:
            raise ValueError("the qmc sampler is single-objective here: use nsga2, tpe or random for several objectives")

    def _check_numbers(self) -> None:
        for name, low in (("trials", 1), ("epochs", 1), ("max_concurrent", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"--{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
        if self.address is not None and not ADDRESS.match(self.address):
            raise ValueError(f"--address {self.address!r} is not a Ray address: give HOST:PORT, ray://HOST:PORT or auto")
        if self.storage_path is not None and not self.storage_path.strip():
            raise ValueError("--storage-path is empty: give a shared folder or a URI such as s3://bucket/path")
        if not self.cpus_per_trial > 0 or self.gpus_per_trial < 0:
            raise ValueError("--cpus-per-trial must be > 0 and --gpus-per-trial >= 0 (fractions allowed)")
        self.budget(image_size=32, in_channels=3, num_classes=10)  # raises on bad bounds

    @property
    def metric_modes(self) -> tuple[list[str], list[str]]:
        return list(self.objectives), [OBJECTIVES[o] for o in self.objectives]

    def study_dir(self) -> Path:
        return Path(self.results_dir) / self.name

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.study_dir() / 'optuna.db').resolve()}"

    def trial_root(self) -> str:
        """Where trial checkpoints and Ray's experiment state go: ``--storage-path``/<name> (a
        shared folder or a pyarrow URI such as s3://bucket/path), else the study folder."""
        if self.storage_path is None:
            return str(self.study_dir().resolve())
        if "://" in self.storage_path:
            return f"{self.storage_path.rstrip('/')}/{self.name}"
        return str((Path(self.storage_path) / self.name).resolve())

    def budget(self, image_size: int, in_channels: int, num_classes: int) -> Budget:
        max_mmacs = self.max_mmacs if self.max_mmacs is not None else DEFAULT_MAX_MMACS.get(self.dataset)
        return Budget.from_millions(
            image_size, in_channels, num_classes, self.min_mmacs, max_mmacs, self.min_mparams, self.max_mparams
        )

    def train_config(self) -> dict[str, Any]:
        """The training settings that trials get (the seed is per trial)."""
        settings = TrainConfig(epochs=self.epochs, **self.train).to_dict()
        settings.pop("seed")
        return settings

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudyConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_overrides(self, **changes: Any) -> StudyConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
