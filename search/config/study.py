"""StudyConfig: everything a study needs, validated before anything starts, saved in its folder."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from spaces import Budget

from search.core.errors import require_int
from search.config.train import TrainConfig

SAMPLERS = ("tpe", "random", "nsga2", "gp", "qmc", "grid")
SCHEDULERS = ("asha", "fifo")
STOPPED_AS = ("pruned", "complete")  # how a scheduler-stopped trial is told to Optuna
OBJECTIVES = {"accuracy": "max", "macs": "min", "params": "min", "flops": "min"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5})$")
# Default upper MACs bound per dataset, so the default study fits a laptop's minutes.
DEFAULT_MAX_MMACS = {"digits": 2.0}
# ASHA's settings before they were fields: a study created then resumes with the schedule it had
LEGACY_SCHEDULE = {"reduction_factor": 3, "brackets": 1}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
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


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _may_change_on_resume(default: Any) -> Any:
    """A field that a resumed study may take anew: resources, and where a cluster or a shared
    folder is mounted on this machine. Every other field is fixed when the study is created."""
    return field(default=default, metadata={"may_change_on_resume": True})


@dataclass(frozen=True)
class StudyConfig:
    """Everything a study needs; saved as study.json in its folder (and, without the storage URL,
    in its Optuna storage), so that ``--resume`` continues it as it was created."""

    space: str = "resnext"  # a built-in space's name, or package.module:function
    dataset: str = "digits"  # digits, cifar10, cifar100, fashionmnist, mnist or imagefolder:PATH
    data_dir: str = "data"  # where torchvision datasets and image caches live
    download: bool = False  # may torchvision download the dataset
    trials: int = _may_change_on_resume(24)  # trials in the study, in all
    min_mmacs: float = 0.0  # MACs bounds of a network, in millions (None: no upper bound)
    max_mmacs: float | None = None
    min_mparams: float = 0.0  # parameter bounds, in millions
    max_mparams: float | None = None
    sampler: str = "tpe"  # one of SAMPLERS
    scheduler: str = "asha"  # one of SCHEDULERS
    stopped_as: str = "pruned"  # one of STOPPED_AS
    grace_period: int = 0  # ASHA: epochs before a trial can first be stopped (0: epochs // 3, at least 1)
    reduction_factor: float = 3  # ASHA: each rung lets on the best 1/reduction_factor of the trials it saw
    brackets: int = 1  # ASHA: successive-halving brackets (> 1: asynchronous Hyperband; one objective only)
    objectives: tuple[str, ...] = ("accuracy",)  # accuracy first, then costs to minimise
    cpus_per_trial: float = _may_change_on_resume(1.0)
    # "auto": a gpu_share of a GPU when the machine or cluster has GPUs, else none; fractions share a GPU
    gpus_per_trial: float | str = _may_change_on_resume("auto")
    gpu_share: float = _may_change_on_resume(0.25)  # with gpus_per_trial auto: the share of a GPU each trial gets
    max_concurrent: int = _may_change_on_resume(0)  # trials running at once (0: as the GPUs allow, else 2)
    seed: int = 0  # the sampler's seed; trial n trains with seed + n
    repeats: int = 1  # seeds per sampled configuration: each runs this many times, as trials of their own
    name: str = ""  # the study's name ("" = <space>-<dataset>)
    results_dir: str = _may_change_on_resume("results")
    storage: str | None = None  # Optuna storage URL (None = SQLite in the study folder)
    address: str | None = _may_change_on_resume(None)  # a Ray cluster to join (None = start one)
    storage_path: str | None = _may_change_on_resume(None)  # shared folder or URI for checkpoints
    train: TrainConfig = TrainConfig()  # how every trial trains; its seed is the study's seed
    save_weights: bool = False  # keep each complete trial's final network (search.retrain sets it)
    warm_start: tuple[str, ...] = ()  # earlier studies (folders or names) whose best trials run first

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", default_name(self.space, self.dataset))
        check_name(self.name)
        object.__setattr__(self, "objectives", tuple(self.objectives))
        object.__setattr__(self, "warm_start", tuple(self.warm_start))
        train = self.train if isinstance(self.train, TrainConfig) else TrainConfig(**self.train)
        object.__setattr__(self, "train", replace(train, seed=self.seed))
        self._check_choices()
        self._check_numbers()

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
        if self.brackets > 1 and len(self.objectives) > 1:
            raise ValueError("--brackets > 1 is for one objective: a Pareto study's ASHA ranks one bracket")
        if self.sampler == "qmc" and len(self.objectives) > 1:
            raise ValueError("the qmc sampler is single-objective here: use nsga2, tpe or random for several objectives")

    def _check_numbers(self) -> None:
        require_int("--trials", self.trials, 1)
        require_int("--max-concurrent", self.max_concurrent, 0)
        require_int("--repeats", self.repeats, 1)
        require_int("--grace-period", self.grace_period, 0)
        require_int("--brackets", self.brackets, 1)
        if self.grace_period > self.epochs:
            raise ValueError(f"--grace-period {self.grace_period} is beyond the epoch budget ({self.epochs})")
        if isinstance(self.reduction_factor, bool) or not isinstance(self.reduction_factor, (int, float)) \
                or not self.reduction_factor > 1:
            raise ValueError(f"--reduction-factor must be a number > 1, got {self.reduction_factor!r}")
        if self.address is not None and not ADDRESS.match(self.address):
            raise ValueError(f"--address {self.address!r} is not a Ray address: give HOST:PORT, ray://HOST:PORT or auto")
        if self.storage_path is not None and not self.storage_path.strip():
            raise ValueError("--storage-path is empty: give a shared folder or a URI such as s3://bucket/path")
        if not _number(self.cpus_per_trial) or not 0 < self.cpus_per_trial < math.inf:
            raise ValueError(f"--cpus-per-trial must be a finite number > 0 (fractions allowed), got {self.cpus_per_trial!r}")
        if self.gpus_per_trial != "auto" and (not _number(self.gpus_per_trial) or not 0 <= self.gpus_per_trial < math.inf):
            raise ValueError(f"--gpus-per-trial must be auto or a finite number >= 0 (fractions share a GPU), "
                             f"got {self.gpus_per_trial!r}")
        if self.gpus_per_trial != "auto" and self.gpus_per_trial > 1 and self.gpus_per_trial != int(self.gpus_per_trial):
            raise ValueError(f"--gpus-per-trial {self.gpus_per_trial:g}: above 1 it must be a whole number (Ray's rule)")
        if not _number(self.gpu_share) or not 0 < self.gpu_share <= 1:
            raise ValueError(f"--gpu-share must be in (0, 1], got {self.gpu_share!r}")
        if self.address is not None and self.address != "auto" and not 0 < int(self.address.rpartition(":")[2]) < 65536:
            raise ValueError(f"--address {self.address!r}: the port must be 1..65535")
        require_int("--seed", self.seed, 0)
        if self.seed + self.trials >= 2**32:  # trial n trains with seed + n, and numpy takes seeds below 2**32
            raise ValueError(f"--seed must be below 2**32 - --trials ({2**32 - self.trials}), got {self.seed}")
        self.budget(image_size=32, in_channels=3, num_classes=10)  # raises on bad bounds

    @property
    def epochs(self) -> int:
        return self.train.epochs

    @property
    def first_rung(self) -> int:
        """ASHA's grace period in epochs: as set, else a third of the budget (at least 1). A
        third, not Ray's 1: on the replay benchmark (bench/README.md, search_replay.py) epoch 1
        ranked networks poorly (Spearman 0.40 with the final accuracy; 0.62 after 2 of 6)."""
        return self.grace_period or max(1, self.epochs // 3)

    @classmethod
    def may_change_on_resume(cls, name: str) -> bool:
        return any(f.name == name and f.metadata.get("may_change_on_resume") for f in fields(cls))

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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudyConfig:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ValueError(f"study.json is not valid JSON ({err}): restore it, or start a new study with --name") from None
        if not isinstance(data, dict) or not isinstance(data.get("train", {}), dict):
            raise ValueError("study.json does not hold a study's settings (a JSON object): restore it, "
                             "or start a new study with --name")
        if "epochs" in data:  # written before the config held a TrainConfig: epochs sat beside it
            data["train"] = {**data.get("train", {}), "epochs": data.pop("epochs")}
        if "grace_period" not in data:  # created before the schedule was a setting: its grace was epochs // 5
            data.update(LEGACY_SCHEDULE, grace_period=max(1, int(data.get("train", {}).get("epochs", 10)) // 5))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_overrides(self, **changes: Any) -> StudyConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
