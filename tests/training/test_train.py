"""Training: learns, resumes exactly from a state dict, detects divergence, reports failures."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from blocks import NetSpec, StageSpec, build
from search.results import schema
from search.data.batches import DeviceData
from search.data.datasets import DataSpec, load
from search.config.train import TrainConfig
from search.training.train import DivergedError, Trainer, seeded_net
from search.training.plan import TrialPlan, checkpoint_path
from search.training.trial import load_checkpoint, run_trial, save_checkpoint

SPEC = NetSpec((StageSpec(1, 16, 1, "bottleneck", 0.5, 2), StageSpec(1, 32, 2, "bottleneck", 0.5, 4)),
               stem_width=16, in_channels=1, num_classes=10)


@pytest.fixture(scope="module")
def digits():
    return load(DataSpec("digits"))


def trainer(digits, **config) -> Trainer:
    torch.set_num_threads(1)
    net = seeded_net(lambda: build(SPEC), 0)
    return Trainer(net, DeviceData(digits, torch.device("cpu")), TrainConfig(**config), torch.device("cpu"))


def test_training_learns_digits(digits):
    metrics = list(trainer(digits, epochs=4, batch_size=64, lr=0.2).epochs())
    assert [m.epoch for m in metrics] == [1, 2, 3, 4]
    assert metrics[-1].best_accuracy > 0.8 and metrics[-1].train_loss < metrics[0].train_loss
    assert all(m.images_per_second > 0 and m.train_seconds > 0 for m in metrics)


def test_resume_from_state_dict_matches_an_uninterrupted_run(digits):
    straight = trainer(digits, epochs=3, batch_size=96)
    list(straight.epochs())
    first = trainer(digits, epochs=3, batch_size=96)
    next(first.epochs())
    state = first.state_dict()
    resumed = trainer(digits, epochs=3, batch_size=96)
    resumed.load_state_dict(state)
    list(resumed.epochs())
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.e2e  # torch.compile generates and builds C++ through Inductor: an integration test, not a unit
def test_compiled_training_matches_eager_and_times_compilation_apart(digits):
    eager, compiled = trainer(digits, epochs=1), trainer(digits, epochs=1, compile=True)
    before = {k: v.clone() for k, v in compiled.net.state_dict().items()}
    seconds = compiled.compile()
    assert seconds > 0 and compiled.compile() == seconds  # compiled once
    assert all(torch.equal(before[k], v) for k, v in compiled.net.state_dict().items())  # warm-up left no trace
    (e,), (c,) = list(eager.epochs()), list(compiled.epochs())
    assert c.compile_seconds == seconds and e.compile_seconds is None
    assert c.train_loss == pytest.approx(e.train_loss, rel=1e-3)
    assert c.val_accuracy == pytest.approx(e.val_accuracy, abs=0.02)
    assert set(compiled.state_dict()["net"]) == set(eager.state_dict()["net"])  # checkpoints interchange


def test_divergence_is_detected(digits):
    with pytest.raises(DivergedError, match="nan|inf"):
        list(trainer(digits, epochs=2, lr=1e12).epochs())


def test_same_seed_same_weights():
    a, b = (seeded_net(lambda: build(SPEC), 5) for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_checkpoint_round_trip_and_corrupt_file(tmp_path, caplog):
    path = checkpoint_path(tmp_path, 7)
    save_checkpoint(path, {"epoch": 3, "history": [{"a": 1.0}]})
    assert load_checkpoint(path)["epoch"] == 3 and path.name == "checkpoint.pt" and path.parent.name == "00007"
    path.write_bytes(path.read_bytes()[:20])  # truncated
    assert load_checkpoint(path) is None and "restarts from scratch" in caplog.text


def test_checkpoints_under_a_uri_go_through_pyarrow(tmp_path, caplog):
    root = f"file://{tmp_path}/shared/study"  # what --storage-path s3://... becomes, on a local filesystem
    path = checkpoint_path(root, 7)
    assert path == f"{root}/trials/00007/checkpoint.pt" and load_checkpoint(path) is None
    save_checkpoint(path, {"epoch": 3})
    assert load_checkpoint(path) == {"epoch": 3}
    local = tmp_path / "shared" / "study" / "trials" / "00007" / "checkpoint.pt"
    local.write_bytes(local.read_bytes()[:20])
    assert load_checkpoint(path) is None and "restarts from scratch" in caplog.text


def trial_config(tmp_path, **train) -> TrialPlan:
    return TrialPlan(number=0, spec=SPEC, train=TrainConfig(**{"epochs": 2, **train}),
                     checkpoint=checkpoint_path(tmp_path, 0), cpus=1, gpus=0)


def test_run_trial_reports_each_epoch_and_test_accuracy_at_the_end(digits, tmp_path):
    reports = []
    run_trial(trial_config(tmp_path), digits, reports.append)
    assert [r["epochs"] for r in reports] == [1, 2]
    assert "test_accuracy" in reports[-1] and "test_accuracy" not in reports[0]
    per_epoch = {"val_accuracy", "val_loss", "train_loss", "epoch_train_seconds", "epoch_eval_seconds"}
    assert set(reports[-1]) - set(schema.names(source="result")) == per_epoch  # the rest are results columns
    assert {"accuracy", "epochs", "train_seconds", "latency_ms", "worker_pid"} <= set(reports[-1])
    again = []  # finished already: reports the last result again, with the epochs before it, and trains nothing
    run_trial(trial_config(tmp_path), digits, again.append)
    rows = [schema.epoch_row(r) for r in reports]
    assert again == [{**reports[-1], schema.HISTORY: rows}] and [r["epoch"] for r in rows] == [1, 2]


def test_a_resumed_trial_reports_its_earlier_epochs_once_and_keeps_its_final_network(digits, tmp_path):
    plan, first = replace(trial_config(tmp_path), weights=tmp_path / "models" / "00000"), []

    def killed_after_first_epoch(report):
        first.append(report)
        raise KeyboardInterrupt  # as a kill: after the checkpoint, before anything else

    with pytest.raises(KeyboardInterrupt):
        run_trial(plan, digits, killed_after_first_epoch)
    assert not (tmp_path / "models").exists()
    rest = []
    run_trial(plan, digits, rest.append)
    assert [r["epochs"] for r in rest] == [2] and rest[0][schema.HISTORY] == [schema.epoch_row(first[0])]
    net = build(NetSpec.from_json((tmp_path / "models" / "00000.json").read_text()))
    net.load_state_dict(torch.load(tmp_path / "models" / "00000.pt", weights_only=True))
    data = DeviceData(digits, torch.device("cpu"))
    reloaded = Trainer(net, data, TrainConfig(epochs=2), torch.device("cpu")).evaluate("test")[0]
    assert reloaded == rest[0]["test_accuracy"]


@pytest.mark.parametrize("cut, batch, words", [
    ({"train": 20}, 32, "batch size 32 is larger than the training split (20 images)"),
    ({"val": 0}, 16, "the validation split is empty"),
])
def test_a_trial_that_could_not_train_or_be_judged_fails_rather_than_reporting_success(digits, tmp_path, cut, batch, words):
    small = replace(digits, **{f"{split}_{part}": getattr(digits, f"{split}_{part}")[:n]
                               for split, n in cut.items() for part in "xy"})
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        trainer(small, batch_size=batch)
    reports = []
    run_trial(trial_config(tmp_path, batch_size=batch), small, reports.append)
    assert [set(r) >= {"error"} for r in reports] == [True] and words in reports[0]["error"]


def test_run_trial_reports_a_failure_instead_of_raising(digits, tmp_path):
    reports = []
    run_trial(trial_config(tmp_path, lr=1e12), digits, reports.append)
    assert reports[-1]["error"].startswith("DivergedError")


def test_a_checkpoint_written_before_the_schema_resumes_under_todays_names(digits, tmp_path):
    plan, first = trial_config(tmp_path), []

    def killed(report):
        first.append(report)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trial(plan, digits, killed)
    state = load_checkpoint(plan.checkpoint)  # as the version before the schema wrote it
    state["history"] = [{("epoch" if k == "epochs" else "epoch_seconds" if k == "epoch_train_seconds" else k): v
                         for k, v in h.items()} for h in state["history"]]
    save_checkpoint(plan.checkpoint, state)
    rest = []
    run_trial(plan, digits, rest.append)
    assert [r["epochs"] for r in rest] == [2] and [r["epoch"] for r in rest[0][schema.HISTORY]] == [1]
    assert rest[0]["train_seconds"] == pytest.approx(first[0]["epoch_train_seconds"] + rest[0]["epoch_train_seconds"])


@pytest.mark.parametrize("other", ["seed", "spec"])
def test_a_checkpoint_of_another_trial_under_the_same_number_is_never_resumed(digits, tmp_path, other, caplog):
    run_trial(trial_config(tmp_path, epochs=1), digits, lambda report: None)  # finished: its checkpoint says so
    plan = trial_config(tmp_path, epochs=1)
    if other == "seed":
        plan = replace(plan, train=replace(plan.train, seed=plan.seed + 1))
    else:
        plan = replace(plan, spec=replace(SPEC, stem_width=SPEC.stem_width * 2))
    reports = []
    run_trial(plan, digits, reports.append)
    assert [r["epochs"] for r in reports] == [1] and "test_accuracy" in reports[0]  # trained anew, not "finished"
    assert "history" not in reports[0] or reports[0]["history"] == []  # nothing of the other trial's epochs
    assert "belongs to another network or seed" in caplog.text
