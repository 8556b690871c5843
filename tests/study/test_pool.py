"""search.pool: a recorded pool's round trip, its nearest-entry rule and leave-one-out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import spaces
from blocks import complexity
from search import results
from search.config.schedule import ScheduleConfig
from search.config.study import StudyConfig
from search.study.pool import Pool, PoolEntry, features, leave_one_out
from search.config.train import TrainConfig

EPOCHS = 4


def sampled_specs(count: int, seed: int = 0, mmacs: float = 10):
    """``count`` random specs of the resnext space at 32px under ``mmacs``."""
    budget = StudyConfig(max_mmacs=mmacs).budget(32, 3, 10)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [spaces.get("resnext")(study.ask(), budget) for _ in range(count)]


def synthetic_pool(count: int = 24, seed: int = 0) -> Pool:
    """Curves that rise with epochs and with the network's parameters, as trained ones roughly do."""
    entries = []
    for i, spec in enumerate(sampled_specs(count, seed)):
        cost = complexity(spec, 32)
        final = 0.2 + 0.05 * np.log10(cost.params) + 0.001 * (i % 3)
        curve = tuple(float(final * (1 - 0.5 ** (k + 1))) for k in range(EPOCHS))
        entries.append(PoolEntry(i, spec, cost.macs, cost.params, curve, tuple([cost.macs / 1e6] * EPOCHS), final - 0.01))
    config = StudyConfig(sampler="random", schedule=ScheduleConfig(scheduler="fifo"), max_mmacs=10, seed=100, train=TrainConfig(epochs=EPOCHS))
    return Pool(tuple(entries), 32, {"config": json.loads(config.to_json())})


@pytest.fixture(scope="module")
def pool() -> Pool:
    return synthetic_pool()


def test_a_pool_survives_its_file(pool, tmp_path):
    pool.save(tmp_path / "pool.csv")
    again = Pool.load(tmp_path / "pool.csv")
    assert again.entries == pool.entries and again.image_size == 32 and again.provenance == pool.provenance


@pytest.mark.parametrize("index", [0, 5, 23])
def test_an_entry_is_its_own_nearest_and_never_its_own_stand_in(pool, index):
    entry = pool.entries[index]
    assert pool.nearest(entry.spec) is entry
    assert pool.nearest(entry.spec, exclude=index) is not entry


def test_leave_one_out_pairs_each_entry_with_another(pool):
    loo = leave_one_out(pool)
    assert len(loo) == len(pool.entries) and (loo["trial"] != loo["stand_in"]).all()
    assert loo["final"].tolist() == [e.curve[-1] for e in pool.entries]


@pytest.mark.parametrize("epochs, best", [(1, 0.1), (2, 0.3), (3, 0.3)])
def test_an_entry_reports_its_best_validation_accuracy_so_far(epochs, best):
    entry = PoolEntry(0, sampled_specs(1)[0], 1, 1, (0.1, 0.3, 0.2), (1.0, 1.0, 1.0), 0.2)
    assert entry.accuracy(epochs) == best


def write_study(study, entries, config: StudyConfig):
    """A study folder whose complete trials are ``entries``, then one pruned trial."""
    study.mkdir()
    trials = pd.DataFrame({"trial": list(range(len(entries) + 1)), "state": ["COMPLETE"] * len(entries) + ["PRUNED"],
                           "arch": [e.spec.to_json() for e in entries] + [entries[0].spec.to_json()],
                           "macs": [e.macs for e in entries] + [1], "params": [e.params for e in entries] + [1],
                           "epochs": [EPOCHS] * len(entries) + [1], "accuracy": [max(e.curve) for e in entries] + [0.1],
                           "test_accuracy": [e.test_accuracy for e in entries] + [None]})
    epochs = pd.DataFrame([{"trial": t, "epoch": k + 1, "val_accuracy": e.curve[k], "epoch_train_seconds": 1.0,
                            "epoch_eval_seconds": 0.5} for t, e in enumerate(entries) for k in range(EPOCHS)]
                          + [{"trial": len(entries), "epoch": 1, "val_accuracy": 0.1, "epoch_train_seconds": 1.0,
                              "epoch_eval_seconds": 0.5}])
    results.write(results.table(trials.to_dict("records")), study)
    results.write(results.epochs_table(epochs.to_dict("records")), study, "epochs")
    (study / "study.json").write_text(config.to_json())
    return study


def test_a_pool_is_built_from_a_studys_complete_trials(pool, tmp_path):
    entries = pool.entries[:3]
    study = write_study(tmp_path / "study", entries, StudyConfig(train=TrainConfig(epochs=EPOCHS)))
    built = Pool.from_study(study, 32)
    assert [e.trial for e in built.entries] == [0, 1, 2]  # the pruned trial is left out
    assert [e.curve for e in built.entries] == [e.curve for e in entries]
    assert {e.study for e in built.entries} == {"study"}
    assert built.entries[0].seconds == (1.5,) * EPOCHS and built.provenance["config"]["train"]["epochs"] == EPOCHS


def test_studies_recorded_alike_join_into_one_pool_that_survives_its_file(pool, tmp_path):
    a = write_study(tmp_path / "samples", pool.entries[:3], StudyConfig(seed=100, train=TrainConfig(epochs=EPOCHS)))
    b = write_study(tmp_path / "hand", pool.entries[3:5], StudyConfig(seed=300, train=TrainConfig(epochs=EPOCHS)))
    joined = Pool.from_studies([a, b], 32)  # another seed is another draw of the same protocol
    assert [(e.study, e.trial) for e in joined.entries] == [("samples", 0), ("samples", 1), ("samples", 2),
                                                             ("hand", 0), ("hand", 1)]
    assert joined.provenance["study"] == "samples+hand" and joined.provenance["config"]["seed"] == 100
    joined.save(tmp_path / "pool.csv")
    assert Pool.load(tmp_path / "pool.csv").entries == joined.entries


def test_pool_files_recorded_in_parts_join_into_the_pool_of_their_studies(pool, tmp_path):
    studies = [write_study(tmp_path / f"part{seed}", pool.entries[i:i + 3],
                           StudyConfig(seed=seed, train=TrainConfig(epochs=EPOCHS))) for i, seed in ((0, 100), (3, 101))]
    for study in studies:  # each part recorded on its own, as a session that ends before the pool is full would
        Pool.from_study(study, 32).save(tmp_path / f"{study.name}.csv")
    parts = Pool.join([Pool.load(tmp_path / f"{s.name}.csv") for s in studies])
    assert parts.entries == Pool.from_studies(studies, 32).entries
    assert parts.seeds == (100, 101) and [p["seed"] for p in parts.provenance["parts"]] == [100, 101]
    parts.save(tmp_path / "pool.csv")
    again = Pool.join([Pool.load(tmp_path / "pool.csv"), Pool.from_study(
        write_study(tmp_path / "part102", pool.entries[6:8], StudyConfig(seed=102, train=TrainConfig(epochs=EPOCHS))), 32)])
    assert again.seeds == (100, 101, 102) and len(again.entries) == 8 and len(again.provenance["parts"]) == 3


def test_a_pool_that_holds_one_study_twice_is_refused(pool, tmp_path):
    study = write_study(tmp_path / "samples", pool.entries[:3], StudyConfig(train=TrainConfig(epochs=EPOCHS)))
    Pool.from_study(study, 32).save(tmp_path / "samples.csv")
    with pytest.raises(ValueError, match="trial 0 of samples comes twice"):
        Pool.join([Pool.from_study(study, 32), Pool.load(tmp_path / "samples.csv")])


def test_pools_at_other_image_sizes_are_refused(pool, tmp_path):
    study = write_study(tmp_path / "samples", pool.entries[:3], StudyConfig(train=TrainConfig(epochs=EPOCHS)))
    other = write_study(tmp_path / "other", pool.entries[3:5], StudyConfig(train=TrainConfig(epochs=EPOCHS)))
    with pytest.raises(ValueError, match="other image_size"):
        Pool.join([Pool.from_study(study, 32), Pool.from_study(other, 64)])


@pytest.mark.parametrize(("field", "other"), [("dataset", {"dataset": "digits"}), ("max_mmacs", {"max_mmacs": 50.0}),
                                               ("train", {"train": TrainConfig(epochs=EPOCHS, lr=0.01)}),
                                               ("schedule", {"schedule": ScheduleConfig(scheduler="fifo")})])
def test_studies_recorded_differently_are_refused(pool, tmp_path, field, other):
    a = write_study(tmp_path / "a", pool.entries[:2], StudyConfig(dataset="cifar10", max_mmacs=10.0,
                                                                  train=TrainConfig(epochs=EPOCHS)))
    b = write_study(tmp_path / "b", pool.entries[2:4], StudyConfig(**{"dataset": "cifar10", "max_mmacs": 10.0,
                                                                      "train": TrainConfig(epochs=EPOCHS), **other}))
    with pytest.raises(ValueError, match=f"b was recorded with other {field} than a"):
        Pool.from_studies([a, b], 32)


def test_a_pool_file_without_study_names_is_named_by_its_study(pool, tmp_path):
    study = write_study(tmp_path / "samples", pool.entries[:3], StudyConfig(train=TrainConfig(epochs=EPOCHS)))
    old = Pool.from_study(study, 32)
    old.to_frame().drop(columns="study").to_csv(tmp_path / "old.csv", index=False)  # as pools were first written
    Path(f"{tmp_path / 'old.csv'}.json").write_text(json.dumps({"image_size": 32, "epochs": EPOCHS, **old.provenance}))
    assert {e.study for e in Pool.load(tmp_path / "old.csv").entries} == {"samples"}
    with pytest.raises(ValueError, match="comes twice"):
        Pool.join([Pool.load(tmp_path / "old.csv"), old])


def test_pools_of_other_spaces_are_refused(pool, tmp_path):
    a = write_study(tmp_path / "a", pool.entries[:2], StudyConfig(space="resnext_v4", train=TrainConfig(epochs=EPOCHS)))
    b = write_study(tmp_path / "b", pool.entries[2:4], StudyConfig(space="resnext_v3", train=TrainConfig(epochs=EPOCHS)))
    with pytest.raises(ValueError, match="other space"):
        Pool.from_studies([a, b], 32)


def test_an_empty_pool_is_refused():
    with pytest.raises(ValueError, match="at least one entry"):
        Pool((), 32)


@pytest.mark.parametrize("study", ["NA", "007", "null", ""])
def test_a_study_name_survives_the_pool_file_as_written(pool, tmp_path, study):
    named = Pool(tuple(replace(e, study=study) for e in pool.entries[:3]), 32, pool.provenance)
    named.save(tmp_path / "pool.csv")
    assert [e.study for e in Pool.load(tmp_path / "pool.csv").entries] == [study] * 3


def test_leave_one_out_names_each_entry_by_study_and_trial(pool):
    loo = leave_one_out(pool)
    assert {"study", "trial", "stand_in_study", "stand_in"} <= set(loo.columns)


def test_a_network_of_pooled_stages_without_blocks_has_features():
    from blocks import NetSpec, StageSpec

    convs_only = NetSpec(stages=(StageSpec(0, 16, 2, downsample="pool"), StageSpec(0, 32, 2, downsample="pool")))
    grouped = NetSpec(stages=(StageSpec(0, 16, 2, downsample="pool"),
                              StageSpec(2, 32, 2, block="bottleneck", cardinality=4, downsample="pool")))
    assert np.isfinite(features(convs_only, 32)).all() and features(convs_only, 32)[-1] == 0.0  # log2 of cardinality 1
    assert 0 < features(grouped, 32)[-1] < 2  # its pooling convs are not grouped
