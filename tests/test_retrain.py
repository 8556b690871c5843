"""Designs compared with seeds (--sampler grid --repeats) and finalists retrained (search.retrain)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from blocks import NetSpec, StageSpec, build
from search import results
from search.data.batches import DeviceData
from search.data.datasets import DataSpec, load
from search.retrain import main as retrain
from search.run import main as run
from search.config.train import TrainConfig
from search.training.train import Trainer
from spaces.templates import TOLERANCE

ROOT = Path(__file__).resolve().parent.parent
GRID = ["--space", "resnext_templates", "--sampler", "grid", "--repeats", "3", "--epochs", "1", "--name", "templates"]


@pytest.fixture(scope="module")
def templates_study(ray_session, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("templates")
    assert run(GRID + ["--results-dir", str(out)]) == 0
    return out / "templates"


def test_a_grid_of_templates_with_repeats_runs_every_template_with_every_seed(templates_study):
    df = results.load(templates_study)
    assert len(df) == 15 and (df["state"] == "COMPLETE").all() and df["seed"].nunique() == 15
    assert df.groupby("template")["configuration"].nunique().eq(1).all() and df["template"].value_counts().eq(3).all()
    assert df["macs"].max() <= (1 + TOLERANCE) * df["macs"].min()


def test_the_report_shows_each_template_over_its_seeds(templates_study, tmp_path, capsys):
    from search.report import main as report

    assert report([str(templates_study), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    section = out.split("## Configurations over seeds")[1]
    for template in ("1x64d", "2x40d", "4x24d", "8x14d", "32x4d"):
        assert f"| {template}" in section
    assert "accuracy_ci_low" in section and "at epoch 1: 15 of 15 trials" in out


def test_retrain_top_two_with_two_seeds_then_reload_a_network(templates_study, capsys):
    assert retrain([str(templates_study), "--top", "2", "--seeds", "2", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    table = pd.read_parquet(templates_study / "retrain.parquet")
    assert len(table) == 4 and table["trial"].nunique() == 2 and (table["state"] == "COMPLETE").all()
    assert "Kendall's tau" in out and "test_accuracy_ci_low" in out
    row = table.iloc[0]
    net = build(NetSpec.from_json(Path(row["weights"]).with_suffix(".json").read_text()))
    net.load_state_dict(torch.load(row["weights"], weights_only=True))
    trainer = Trainer(net, DeviceData(load(DataSpec("digits")), torch.device("cpu")), TrainConfig(), torch.device("cpu"))
    assert trainer.evaluate("test")[0] == pytest.approx(row["test_accuracy"], abs=1e-9)


def test_retrain_resumes_after_sigkill_with_no_duplicate_or_missing_row(templates_study, ray_env, tmp_path):
    argv = [str(templates_study), "--trials", "0", "3", "--seeds", "2", "--epochs", "2", "--max-concurrent", "1"]
    folder = templates_study / "retrain"
    if folder.exists():  # another retraining ran here first
        import shutil

        shutil.rmtree(folder)
    env = {**os.environ, **ray_env, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "search.retrain", *argv], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while child.poll() is None and time.monotonic() < deadline:
        table = folder / "trials.parquet"
        if table.exists() and (pd.read_parquet(table)["state"] == "COMPLETE").sum() >= 1:
            break
        time.sleep(0.3)
    assert child.poll() is None, "the retraining ended before it could be killed"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    time.sleep(3)  # its workers notice their raylet is gone
    assert retrain(argv) == 0
    table = pd.read_parquet(templates_study / "retrain.parquet")
    assert sorted(zip(table["trial"], table["seed"])) == sorted(set(zip(table["trial"], table["seed"])))
    assert len(table) == 4 and (table["state"] == "COMPLETE").all() and sorted(table["trial"].unique()) == [0, 3]


@pytest.mark.parametrize("argv, words", [
    (["--trials", "99", "--epochs", "1"], "has no trial 99"),
    (["--top", "0", "--epochs", "1"], "--top must be an integer >= 1"),
    (["--seeds", "0", "--epochs", "1"], "--seeds must be an integer >= 1"),
])
def test_retrain_bad_input_is_one_line_exit_2_and_writes_nothing(templates_study, tmp_path, argv, words, capsys):
    before = sorted(p.name for p in templates_study.iterdir())
    assert retrain([str(templates_study), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and sorted(p.name for p in templates_study.iterdir()) == before


def test_retrain_of_a_study_with_no_complete_trial_is_refused(tmp_path, capsys):
    rows = [{"trial": 0, "state": "PRUNED", "accuracy": 0.5, "arch": "{}"}]
    results.write(results.table(rows), tmp_path / "s")
    assert retrain([str(tmp_path / "s"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no complete trial" in err and len(err.splitlines()) == 1 and sorted(p.name for p in (tmp_path / "s").iterdir()) == ["trials.csv", "trials.parquet"]


def test_onnx_export_of_a_kept_network(tmp_path):
    pytest.importorskip("onnx")
    from search.retrain import export_onnx

    spec = NetSpec((StageSpec(1, 16, 1, "bottleneck", 0.5, 4),), stem_width=8, in_channels=1)
    torch.save(build(spec).state_dict(), tmp_path / "00000.pt")
    (tmp_path / "00000.json").write_text(spec.to_json())
    export_onnx(pd.DataFrame({"weights": [str(tmp_path / "00000.pt")]}), 8)
    import onnx

    model = onnx.load(str(tmp_path / "00000.onnx"))
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 1


def test_a_retraining_takes_neither_the_studys_budgets_nor_its_start_designs():
    from search.config.study import StudyConfig
    from search.retrain import retrain_config

    parent = StudyConfig(budget_epochs=60, time_budget=600.0, space="resnext_v3", start_from="hand")
    config = retrain_config(parent, Path("/tmp/s"), {}, count=15, epochs=30)
    assert (config.budget_epochs, config.time_budget, config.start_from, config.trials) == (0, 0.0, "", 15)


def test_a_resumed_retraining_finds_its_study_where_it_is_now(tmp_path, monkeypatch):
    """The first run names the study relative to where it ran; a resume from elsewhere still
    continues that retraining, not a new one under its own working folder."""
    import shutil

    from search import retrain as command
    from search.study import pipeline

    ran = []

    def execute(prepared):  # what a run leaves: the folder, study.json and retrain.json
        folder = prepared.config.study_dir()
        ran.append(folder.resolve())
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "study.json").write_text(prepared.config.to_json())
        for name, text in prepared.request.files:
            (folder / name).write_text(text)
        return 0

    monkeypatch.setattr(pipeline, "execute", execute)
    monkeypatch.setattr(command, "retrain_table", lambda config: pd.DataFrame(columns=command.schema.view("retrain")))
    first = tmp_path / "a"
    shutil.copytree(ROOT / "tests" / "fixtures" / "v1-study", first / "results" / "v1")
    monkeypatch.chdir(first)
    assert retrain(["results/v1", "--epochs", "1", "--seeds", "1", "--top", "1"]) == 0
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "b")
    assert retrain([str(first / "results" / "v1"), "--epochs", "1", "--seeds", "1", "--top", "1"]) == 0
    assert ran == [first / "results" / "v1" / "retrain"] * 2
