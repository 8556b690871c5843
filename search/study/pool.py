"""A recorded pool of trained architectures: what a search would have seen, without training.

A pool is the complete trials of one study, or of several recorded alike (random samples of a
space, every one trained its whole epoch budget, and the hand designs on the same protocol):
each entry's spec and its validation accuracy after every epoch. A replayed search
(``search.replay``) proposes specs from the same space; each proposal gets the curve of the
pool entry *nearest* to it, by the rule in ``features``. ``leave_one_out`` measures how faithful
that rule is on the pool itself. No Ray or Optuna here.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import spaces
from blocks import NetSpec, complexity

from search.results import tables as results

# Why these features: at a fixed epoch budget, accuracy follows capacity (params) and shape
# (depth, stage count, last width); grouping changes what a parameter buys. Chosen among five
# such sets by leave-one-out on an earlier, separate recording (48 random resnext samples,
# 3 epochs; Spearman 0.67 between an entry's accuracy and its nearest other entry's); MACs and
# params alone gave 0.08. Each is standardised by the pool's spread, so no unit dominates.
# What makes two studies' curves comparable (the schedule too: a stopped trial is no entry)
PROTOCOL = ("space", "dataset", "train", "max_mmacs", "min_mmacs", "max_mparams", "min_mparams", "schedule")
FEATURES = ("log_params", "depth", "stages", "log_last_width", "log_cardinality")


def features(spec: NetSpec, image_size: int) -> np.ndarray:
    """The nearest-entry coordinates of ``spec`` (unscaled), in the order of ``FEATURES``."""
    stages = spec.stages
    # where the parameters sit, roughly: each stage's blocks, and a pooled stage's (ungrouped)
    # conv, which is all such a stage has when it has no block
    weights = np.array([s.depth * s.width**2 for s in stages] + [s.width**2 for s in stages if s.downsample == "pool"],
                       dtype=float)
    logs = [np.log(s.cardinality) for s in stages] + [0.0 for s in stages if s.downsample == "pool"]
    cardinality = float(np.exp(np.average(logs, weights=weights)))
    return np.array([np.log(complexity(spec, image_size).params), sum(s.depth for s in stages), len(stages),
                     np.log(stages[-1].width), np.log2(cardinality)])


@dataclass(frozen=True)
class PoolEntry:
    trial: int  # the trial number in the recording study
    spec: NetSpec  # the trained network
    macs: int  # its MACs at the pool's image size
    params: int  # its parameter count
    curve: tuple[float, ...]  # validation accuracy after epochs 1..E
    seconds: tuple[float, ...]  # each epoch's training plus validation seconds, as recorded
    test_accuracy: float  # the final network's test accuracy
    study: str = ""  # the recording study's folder name (a pool may join several recorded alike)

    def accuracy(self, epochs: int) -> float:
        """What a trial reports after ``epochs``: its best validation accuracy so far."""
        return max(self.curve[:epochs])


@dataclass(frozen=True)
class Pool:
    entries: tuple[PoolEntry, ...]  # every complete trial of the recording studies
    image_size: int  # the recording's image size (MACs and features depend on it)
    provenance: dict = field(default_factory=dict)  # the recording's config, data sizes, machine, date
    _scale: np.ndarray = field(init=False, repr=False, compare=False)
    _points: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.entries:
            raise ValueError("a pool needs at least one entry (a complete trial)")
        raw = np.stack([features(e.spec, self.image_size) for e in self.entries])
        scale = raw.std(axis=0)
        scale[scale == 0] = 1.0
        object.__setattr__(self, "_scale", scale)
        object.__setattr__(self, "_points", raw / scale)

    @property
    def epochs(self) -> int:
        return len(self.entries[0].curve)

    def nearest(self, spec: NetSpec, exclude: int | None = None) -> PoolEntry:
        """The entry whose standardised features are closest (Euclidean) to ``spec``'s; ties go
        to the earlier entry. ``exclude``: an entry index left out (for leave-one-out)."""
        distance = np.linalg.norm(self._points - features(spec, self.image_size) / self._scale, axis=1)
        if exclude is not None:
            distance[exclude] = np.inf
        return self.entries[int(np.argmin(distance))]

    @classmethod
    def from_study(cls, study_dir: Path, image_size: int) -> Pool:
        """The complete trials of a study folder (its trials and epochs tables, its study.json),
        whose MACs were counted at ``image_size``."""
        trials, epochs = results.load(study_dir), results.load_epochs(study_dir)
        provenance = {"study": study_dir.name, "config": json.loads((study_dir / "study.json").read_text())}
        complete = trials[trials["state"] == "COMPLETE"].sort_values("trial")
        full = int(complete["epochs"].max())
        entries = []
        for row in complete.itertuples():
            rows = epochs[epochs["trial"] == row.trial].sort_values("epoch")
            if len(rows) != full:
                continue  # a trial whose epochs were not all recorded cannot be replayed
            entries.append(PoolEntry(int(row.trial), NetSpec.from_json(row.arch), int(row.macs), int(row.params),
                                     tuple(rows["val_accuracy"].astype(float)),
                                     tuple((rows["epoch_train_seconds"] + rows["epoch_eval_seconds"]).astype(float)),
                                     float(row.test_accuracy), study_dir.name))
        return cls(tuple(entries), image_size, provenance)

    @classmethod
    def from_studies(cls, study_dirs: list[Path], image_size: int) -> Pool:
        """Several studies recorded alike (e.g. random samples and the hand designs,
        ``--start-from hand``) as one pool: ``join`` of their pools."""
        return cls.join([cls.from_study(d, image_size) for d in study_dirs])

    @classmethod
    def join(cls, pools: list[Pool]) -> Pool:
        """Pools recorded alike (the same space, data, training, budget, schedule and image size;
        each part of a pool recorded over several sessions, say) as one; the first one's config
        is the pool's, and each part's provenance is kept. ValueError when they were recorded
        differently or an entry would come twice."""
        first, base = pools[0], pools[0].provenance["config"]
        for pool in pools[1:]:
            differ = [k for k in PROTOCOL if _protocol(pool.provenance["config"], k) != _protocol(base, k)]
            if pool.image_size != first.image_size:
                differ.insert(0, "image_size")
            if differ:
                raise ValueError(f"{pool.provenance['study']} was recorded with other {differ[0]} than "
                                 f"{first.provenance['study']}: a pool joins studies recorded alike")
        entries = tuple(e for p in pools for e in p.entries)
        twice = [key for key, count in Counter((e.study, e.trial) for e in entries).items() if count > 1]
        if twice:
            study, trial = twice[0]
            raise ValueError(f"trial {trial} of {study} comes twice: join each study or pool once")
        if len(pools) == 1:
            return first
        parts = [part for p in pools for part in p.provenance.get("parts", [_part(p)])]
        provenance = {"study": "+".join(p.provenance["study"] for p in pools), "config": first.provenance["config"],
                      "seeds": sorted({s for p in pools for s in p.seeds}), "parts": parts}
        return cls(entries, first.image_size, provenance)

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of the studies recorded into this pool (a replay with one of them would
        propose that study's own samples)."""
        return tuple(self.provenance.get("seeds", [self.provenance["config"]["seed"]]))

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for e in self.entries:
            row = {"study": e.study, "trial": e.trial, "arch": e.spec.to_json(), "macs": e.macs, "params": e.params,
                   "test_accuracy": e.test_accuracy}
            row.update({f"val_accuracy_{i + 1}": v for i, v in enumerate(e.curve)})
            row.update({f"seconds_{i + 1}": v for i, v in enumerate(e.seconds)})
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self, path: Path) -> None:
        """``path`` (CSV, one row per entry) and ``path``.json beside it (image size, provenance)."""
        self.to_frame().to_csv(path, index=False)
        meta = {"image_size": self.image_size, "epochs": self.epochs, "entries": len(self.entries), **self.provenance}
        Path(f"{path}.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")

    @classmethod
    def load(cls, path: Path) -> Pool:
        meta = json.loads(Path(f"{path}.json").read_text())
        df = pd.read_csv(path, dtype={"study": str}, keep_default_na=False, na_values={"test_accuracy": ["", "nan"]})
        epochs = int(meta["epochs"])
        unnamed = "" if "+" in meta.get("study", "+") else meta["study"]  # a file of one study, written without the column
        entries = tuple(
            PoolEntry(int(r["trial"]), NetSpec.from_json(r["arch"]), int(r["macs"]), int(r["params"]),
                      tuple(float(r[f"val_accuracy_{i}"]) for i in range(1, epochs + 1)),
                      tuple(float(r[f"seconds_{i}"]) for i in range(1, epochs + 1)), float(r["test_accuracy"]),
                      str(r["study"]) if "study" in df else unnamed)
            for _, r in df.iterrows())
        provenance = {k: v for k, v in meta.items() if k not in ("image_size", "epochs", "entries")}
        return cls(entries, int(meta["image_size"]), provenance)


def _part(pool: Pool) -> dict:
    """What a joined pool keeps of one part's provenance: where and when it was recorded."""
    return {k: v for k, v in pool.provenance.items() if k != "config"} | {"seed": pool.provenance["config"]["seed"],
                                                                         "entries": len(pool.entries)}


def _protocol(config: dict, key: str):
    """``config[key]`` as far as it shapes a curve: the training without its seed (each study
    trains with its own), the space by its versioned name."""
    value = config.get(key)
    if key == "space":
        return spaces.as_stored(value)
    return {k: v for k, v in value.items() if k != "seed"} if isinstance(value, dict) else value


def leave_one_out(pool: Pool) -> pd.DataFrame:
    """Each entry against its nearest *other* entry (the replay's answer had it not been
    recorded): their final and first-epoch validation accuracies."""
    rows = []
    for i, entry in enumerate(pool.entries):
        stand_in = pool.nearest(entry.spec, exclude=i)
        rows.append({"study": entry.study, "trial": entry.trial,
                     "stand_in_study": stand_in.study, "stand_in": stand_in.trial,
                     "final": entry.curve[-1], "final_replayed": stand_in.curve[-1],
                     "first": entry.curve[0], "first_replayed": stand_in.curve[0]})
    return pd.DataFrame(rows)
