"""StudyConfig: everything a study needs, validated before anything starts, saved in its folder.

Settings are grouped: how trials train (``TrainConfig``), how the scheduler spends epochs
(``ScheduleConfig``), what the study asks of the hardware (``ResourceRequest``). Each field's flag,
help and whether a resume may change it are declared on the field (``config.setting``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import spaces
from spaces import Budget, designs

from search.config.resources import ResourceRequest
from search.config.schedule import ScheduleConfig
from search.config.setting import flag_of, internal, nested, setting
from search.config.stored import upgraded
from search.config.train import TrainConfig
from search.core.errors import StudyError, require_int

SAMPLERS = ("tpe", "random", "nsga2", "gp", "qmc", "grid")
LEARNING_SAMPLERS = ("tpe", "nsga2", "gp")  # those that model results: hand designs queued first teach them
START_FROM_AUTO, START_FROM_NONE = "auto", ("none", "")  # "": none, as older study.json files say
OBJECTIVES = {"accuracy": "max", "macs": "min", "params": "min", "flops": "min"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")
ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5})$")
# Default upper MACs bound per dataset, so the default study fits a laptop's minutes.
DEFAULT_MAX_MMACS = {"digits": 2.0}


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


def bounds(text: str) -> tuple[float, float | None]:
    """'MAX' or 'MIN:MAX' in millions (MAX may be empty: no upper bound)."""
    low, _, high = text.rpartition(":")
    try:
        return float(low or 0), (float(high) if high else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MAX or MIN:MAX in millions, got {text!r}") from None


def duration(text: str) -> float:
    """Seconds from '90', '90s', '30m', '2h' or '1h30m'."""
    match = DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 30m, 2h or 1h30m, got {text!r}")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def comma_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


@dataclass(frozen=True)
class StudyConfig:
    """Saved as study.json in the study's folder (and, without the storage URL, in its Optuna
    storage), so that ``--resume`` continues it as it was created."""

    space: str = setting("resnext", "search space: a built-in name (python -m search.describe lists them) or "
                         "package.module:function")
    dataset: str = setting("digits", "digits (embedded), cifar10, cifar100, fashionmnist, mnist or imagefolder:PATH")
    data_dir: str = setting("data", "where torchvision datasets and image caches live")
    download: bool = setting(False, "allow torchvision to download the dataset")
    trials: int = setting(24, "trials in the study, in all (with --sampler grid: all of the grid; with "
                          "--budget-epochs: at most this many)", resumable=True)
    budget_epochs: int = setting(0, "trial-epochs the study may spend, across all trials and rungs: it proposes no "
                                 "trial once they are spent (0: --trials alone bounds it)", resumable=True)
    time_budget: float = setting(0.0, "wall clock the study may run, across resumes: seconds, or e.g. 30m, 2h; "
                                 "running trials stop when it is spent and continue on --resume", resumable=True,
                                 parse=duration, metavar="DURATION", shown_default="none")
    min_mmacs: float = internal(0.0)  # MACs bounds of a network, in millions (None: no upper bound)
    max_mmacs: float | None = setting(None, "MACs bounds in millions, MAX or MIN:MAX", name="--budget-mmacs",
                                      parse=bounds, sets=("min_mmacs", "max_mmacs"), metavar="[MIN:]MAX", shown_default="2 for digits")
    min_mparams: float = internal(0.0)  # parameter bounds, in millions
    max_mparams: float | None = setting(None, "parameter bounds in millions, MAX or MIN:MAX", name="--budget-mparams",
                                        parse=bounds, sets=("min_mparams", "max_mparams"), metavar="[MIN:]MAX", shown_default="none")
    sampler: str = setting("tpe", "Optuna sampler; grid enumerates a space that declares its choices "
                           "(resnext_templates)", choices=SAMPLERS)
    objectives: tuple[str, ...] = setting(("accuracy",), f"comma list, accuracy first, e.g. accuracy,macs for a "
                                          f"Pareto search (of {', '.join(OBJECTIVES)})", parse=comma_list,
                                          shown_default="accuracy")
    seed: int = setting(0, "seed of the sampler and the trials (trial n trains with seed + n)")
    repeats: int = setting(1, "seeds per sampled configuration, each a trial of its own")
    name: str | None = setting(None, "study name", shown_default="<space>-<dataset>")
    results_dir: str = setting("results", "where study folders are written", resumable=True)
    storage: str | None = setting(None, "Optuna storage URL", shown_default="sqlite:///<results-dir>/<name>/optuna.db")
    address: str | None = setting(None, "address of an existing Ray cluster to join: auto or HOST:PORT",
                                  resumable=True, shown_default="start a local one")
    storage_path: str | None = setting(None, "where trial checkpoints and Ray's state go, shared by all nodes: a "
                                       "folder or a pyarrow URI such as s3://bucket/path", resumable=True,
                                       shown_default="the study folder")
    start_from: str = setting("auto", "hand designs that run first, as points of the space (resnext, resnext_v3), each fitted "
                              "to the budget: hand (all), a comma list (python -m search.baselines --help names them), "
                              "none, or auto: every design that fits, for a sampler that learns from results (tpe, gp, "
                              "nsga2) in a space that can state them, when they take at most half the trials")
    warm_start: tuple[str, ...] = setting((), "earlier studies of the same space whose best trials (or Pareto "
                                          "front) run first, fitted to this study's budget", nargs="+",
                                          metavar="STUDY", parse=str)
    train: TrainConfig = TrainConfig()  # how every trial trains; its seed is the study's seed
    schedule: ScheduleConfig = ScheduleConfig()  # how the scheduler spends the trials' epochs
    resources: ResourceRequest = ResourceRequest()  # what each trial asks for ("auto" kept: placed at run time)
    save_weights: bool = internal(False)  # keep each complete trial's final network (search.retrain sets it)

    def __post_init__(self) -> None:
        if self.name is None:  # named as given (resnext-digits), recorded with its version (resnext_v4)
            object.__setattr__(self, "name", default_name(self.space, self.dataset))
        object.__setattr__(self, "space", spaces.canonical(self.space))
        check_name(self.name)
        object.__setattr__(self, "objectives", tuple(self.objectives))
        object.__setattr__(self, "warm_start", tuple(self.warm_start))
        for f, cls in nested(StudyConfig):  # from JSON: dicts
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, value if isinstance(value, cls) else cls(**value))
        object.__setattr__(self, "train", replace(self.train, seed=self.seed))
        self._check()

    def _check(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}: choose from {', '.join(SAMPLERS)}")
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad or not self.objectives or self.objectives[0] != "accuracy" or len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives {','.join(self.objectives)!r}: the first must be accuracy, then any of "
                             f"{', '.join(o for o in OBJECTIVES if o != 'accuracy')}, each once")
        if self.start_from not in START_FROM_NONE + (START_FROM_AUTO,):
            designs.get(self.start_from)  # an unknown design is refused here, before anything starts
        if self.sampler == "qmc" and len(self.objectives) > 1:
            raise ValueError("the qmc sampler is single-objective here: use nsga2, tpe or random for several objectives")
        self.schedule.check(self.epochs, len(self.objectives))
        require_int("--trials", self.trials, 1)
        require_int("--budget-epochs", self.budget_epochs, 0)
        if isinstance(self.time_budget, bool) or not isinstance(self.time_budget, (int, float)) \
                or not 0 <= self.time_budget < math.inf:
            raise ValueError(f"--time-budget must be a finite duration >= 0, got {self.time_budget!r}")
        if 0 < self.budget_epochs < self.epochs:
            raise ValueError(f"--budget-epochs {self.budget_epochs} cannot train one trial of {self.epochs} epochs: "
                             "raise it, or lower --epochs")
        require_int("--repeats", self.repeats, 1)
        require_int("--seed", self.seed, 0)
        if self.seed + self.trials >= 2**32:  # trial n trains with seed + n, and numpy takes seeds below 2**32
            raise ValueError(f"--seed must be below 2**32 - --trials ({2**32 - self.trials}), got {self.seed}")
        if self.address is not None and not ADDRESS.match(self.address):
            raise ValueError(f"--address {self.address!r} is not a Ray address: give HOST:PORT, ray://HOST:PORT or auto")
        if self.address is not None and self.address != "auto" and not 0 < int(self.address.rpartition(":")[2]) < 65536:
            raise ValueError(f"--address {self.address!r}: the port must be 1..65535")
        if self.storage_path is not None and not self.storage_path.strip():
            raise ValueError("--storage-path is empty: give a shared folder or a URI such as s3://bucket/path")
        self.budget(image_size=32, in_channels=3, num_classes=10)  # raises on bad bounds

    @property
    def epochs(self) -> int:
        return self.train.epochs

    @property
    def expected_trials(self) -> int:
        """Trials the study is expected to run: --trials, or what the epoch budget buys under the
        schedule (``ScheduleConfig.epochs_per_trial``), within --trials."""
        if not self.budget_epochs:
            return self.trials
        return max(1, min(self.trials, round(self.budget_epochs / self.schedule.epochs_per_trial(self.epochs))))

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
        """A saved config, of this version or an earlier one (``config.stored.upgraded``)."""
        return cls(**upgraded(text, cls))

    def resumed(self, given: dict[str, Any]) -> StudyConfig:
        """This saved config with what a resume ``given`` may change (``Flag.resumable``);
        StudyError naming the flag when it sets a fixed field to another value."""
        if isinstance(given.get("space"), str):  # --space resnext names today's version
            space = spaces.canonical(given["space"])
            if space != self.space and given["space"] in spaces.ALIASES:
                raise StudyError(f"--resume: study {self.name!r} was made with space {self.space!r}, and --space "
                                 f"{given['space']} now names {space}: resume it without --space")
            given = {**given, "space": space}
        return _resumed(self, given, self.name)


def _resumed(config: Any, given: dict[str, Any], name: str) -> Any:
    changes: dict[str, Any] = {}
    for f in fields(config):
        if f.name not in given or given[f.name] is None:
            continue
        value, was = given[f.name], getattr(config, f.name)
        if isinstance(value, dict):
            changes[f.name] = _resumed(was, value, name)
        elif (spec := flag_of(f)) is not None and spec.resumable:
            changes[f.name] = value
        elif value != was:
            raise StudyError(f"--resume: study {name!r} was created with {f.name}={was!r}; drop that flag to "
                             "resume it, or start a new study with --name")
    return replace(config, **changes)
