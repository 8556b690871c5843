"""Studies end to end through Ray: the table, the Optuna states, resume after SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import torch

from blocks import NetSpec, complexity, grouping_reduction
from search import results
from search.run import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--space", "resnext", "--dataset", "digits", "--budget-mmacs", "0.4", "--seed", "3"]


def optuna_trials(study_dir: Path, name: str):
    storage = f"sqlite:///{study_dir / 'optuna.db'}"
    return {t.number: t for t in optuna.load_study(study_name=name, storage=storage).trials}


def test_table_has_one_row_per_trial_with_final_states(small_study):
    df = results.load(small_study)
    assert list(df["trial"]) == list(range(6))
    assert set(df["state"]) <= {"COMPLETE", "PRUNED"} and "COMPLETE" in set(df["state"])
    assert (df["space"] == "resnext_v4").all() and (df["dataset"] == "digits").all()
    assert pd.read_csv(small_study / "trials.csv").shape[0] == 6


def test_epochs_table_has_one_row_per_trial_and_epoch_run(small_study):
    df, epochs = results.load(small_study), results.load_epochs(small_study)
    assert not epochs.duplicated(["trial", "epoch"]).any()
    for row in df.itertuples():  # pruned trials included: every epoch each trial ran
        assert epochs.loc[epochs["trial"] == row.trial, "epoch"].tolist() == list(range(1, row.epochs + 1))
    last = epochs.groupby("trial").last()
    assert (last.loc[df["trial"], "val_accuracy"].to_numpy() <= df["accuracy"].to_numpy() + 1e-12).all()


def test_time_and_memory_columns_account_for_each_trial(small_study):
    df = results.load(small_study)
    parts = df[["train_seconds", "eval_seconds", "setup_seconds", "measure_seconds"]]
    assert (parts > 0).all().all() and (parts.sum(axis=1) <= df["trial_seconds"]).all()
    span = (df["datetime_complete"] - df["datetime_start"]).dt.total_seconds()
    assert (df["trial_seconds"] <= span + 1e-3).all()  # a trial's own time lies inside its Optuna span
    assert df["worker_pid"].nunique() == 1  # one trial at a time: Ray reuses one worker for all
    assert (df["worker_rss_mb"] > 50).all() and (df["worker_peak_rss_mb"] >= df["worker_rss_mb"] - 1).all()


def test_complexity_columns_equal_the_analytic_complexity_of_each_arch(small_study):
    for row in results.load(small_study).itertuples():
        spec = NetSpec.from_json(row.arch)
        cx, red = complexity(spec, 8), grouping_reduction(spec, 8)
        assert (row.params, row.macs, row.flops, row.acts) == (cx.params, cx.macs, cx.flops, cx.acts)
        assert (row.params_dense, row.macs_dense, row.max_cardinality) == (red.params_dense, red.macs_dense, spec.max_cardinality)
        assert row.param_reduction == pytest.approx(red.param_reduction) and row.macs <= 400_000


def test_states_agree_with_optuna_and_pruned_trials_are_pruned(small_study):
    df = results.load(small_study).set_index("trial")
    trials = optuna_trials(small_study, "small")
    assert {n: t.state.name for n, t in trials.items()} == df["state"].to_dict()
    pruned = df[df["state"] == "PRUNED"]
    assert len(pruned) >= 1, "ASHA stopped no trial: the test no longer covers PRUNED"
    for number, row in df.iterrows():
        steps = sorted(trials[number].intermediate_values)
        assert steps == list(range(1, row["epochs"] + 1))  # one value per epoch it ran
        if row["state"] == "PRUNED":
            assert row["epochs"] < 3 and pd.isna(row["test_accuracy"])
        else:
            assert row["epochs"] == 3 and 0 < row["test_accuracy"] <= 1
            assert trials[number].value == pytest.approx(row["accuracy"])


def test_stopped_as_complete_tells_stopped_trials_complete_with_their_last_accuracy(ray_session, tmp_path):
    """Stock OptunaSearch's behaviour, kept for the search-efficiency benchmark."""
    argv = TINY + ["--trials", "6", "--epochs", "3", "--max-concurrent", "1", "--name", "stock",  # as small_study
                   "--stopped-as", "complete", "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    df = results.load(tmp_path / "stock").set_index("trial")
    trials = optuna_trials(tmp_path / "stock", "stock")
    assert (df["state"] == "COMPLETE").all() and {t.state.name for t in trials.values()} == {"COMPLETE"}
    stopped = df[df["epochs"] < 3]
    assert len(stopped) >= 1, "ASHA stopped no trial: the test no longer covers stopped trials"
    for number, row in df.iterrows():
        assert trials[number].value == pytest.approx(row["accuracy"])  # the last result: best accuracy so far
        assert sorted(trials[number].intermediate_values) == list(range(1, row["epochs"] + 1))


def test_sampled_parameters_replay_to_the_stored_arch(small_study):
    import spaces

    df = results.load(small_study)
    trials = optuna_trials(small_study, "small")
    budget = spaces.Budget(8, 1, 10, max_macs=400_000)
    for row in df.itertuples():
        replayed = spaces.get("resnext")(optuna.trial.FixedTrial(trials[row.trial].params), budget)
        assert replayed == NetSpec.from_json(row.arch)


def test_existing_study_is_refused_without_resume(small_study, capsys):
    before = {p: p.stat().st_mtime_ns for p in small_study.rglob("*")}
    argv = TINY + ["--results-dir", str(small_study.parent), "--name", "small"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--resume" in err and "--name" in err and len(err.splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in small_study.rglob("*")} == before


def test_resume_of_a_finished_study_adds_trials_up_to_the_new_count(small_study, tmp_path):
    shutil.copytree(small_study, tmp_path / "small")
    before = results.load(tmp_path / "small")
    assert main(["--results-dir", str(tmp_path), "--name", "small", "--resume", "--trials", "7"]) == 0
    after = results.load(tmp_path / "small")
    assert len(after) == 7
    pd.testing.assert_frame_equal(after.iloc[:6][before.columns], before, check_dtype=False)


def finished(study_dir: Path) -> int:
    try:
        df = pd.read_parquet(study_dir / "trials.parquet")
    except Exception:
        return 0
    return int(df["state"].isin(["COMPLETE", "PRUNED", "FAIL"]).sum())


def wait_until_quiet(study_dir: Path, quiet: float = 3.0, limit: float = 60.0) -> None:
    """Until no checkpoint has changed for ``quiet`` seconds: orphaned workers have exited."""
    def snapshot():
        return {p: p.stat().st_mtime_ns for p in (study_dir / "trials").glob("*/checkpoint.pt")}

    deadline, last, since = time.monotonic() + limit, snapshot(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.5)
        now = snapshot()
        if now != last:
            last, since = now, time.monotonic()


def test_sigkill_of_the_driver_then_resume_loses_and_reruns_nothing(ray_session, ray_env, tmp_path):
    argv = TINY + ["--trials", "8", "--epochs", "3", "--results-dir", str(tmp_path), "--name", "killed"]
    env = {**os.environ, **ray_env, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen([sys.executable, "-m", "search.run", *argv], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    study_dir = tmp_path / "killed"
    deadline = time.monotonic() + 180
    while finished(study_dir) < 3 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert driver.poll() is None, "the driver ended before it could be killed"
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and Ray's processes in its group
    driver.wait()
    wait_until_quiet(study_dir)  # trial workers notice their raylet is gone and exit

    before = results.load(study_dir)
    done_before = before[before["state"].isin(["COMPLETE", "PRUNED", "FAIL"])]
    interrupted = {}  # trials killed mid-way, and each epoch's training time their checkpoint holds
    for n in set(range(8)) - set(done_before["trial"]):
        path = study_dir / "trials" / f"{n:05d}" / "checkpoint.pt"
        if path.exists():
            history = torch.load(path, weights_only=True)["history"]
            interrupted[n] = {h["epochs"]: h["epoch_train_seconds"] for h in history}
    checkpoints = {n: (study_dir / "trials" / f"{n:05d}" / "checkpoint.pt").stat().st_mtime_ns for n in done_before["trial"]}
    assert len(done_before) >= 3

    assert main(["--results-dir", str(tmp_path), "--name", "killed", "--resume"]) == 0
    after = results.load(study_dir).set_index("trial")
    assert len(after) == 8 and after["state"].isin(["COMPLETE", "PRUNED", "FAIL"]).all()
    for row in done_before.itertuples():  # finished before the kill: unchanged, not re-run
        again = after.loc[row.trial]
        assert (again["state"], again["accuracy"], again["arch"], again["datetime_complete"]) == (
            row.state, row.accuracy, row.arch, row.datetime_complete)
        path = study_dir / "trials" / f"{row.trial:05d}" / "checkpoint.pt"
        assert path.stat().st_mtime_ns == checkpoints[row.trial]
    assert sorted(optuna_trials(study_dir, "killed")) == list(range(8))
    epochs = results.load_epochs(study_dir)  # every epoch of every trial once, across the kill
    assert not epochs.duplicated(["trial", "epoch"]).any()
    for n, row in after.iterrows():
        assert epochs.loc[epochs["trial"] == n, "epoch"].tolist() == list(range(1, row["epochs"] + 1)), n
    for n, seconds in interrupted.items():  # continued from its checkpoint, not from epoch 1: the
        ran = epochs[epochs["trial"] == n].set_index("epoch")["epoch_train_seconds"]  # epochs it held
        assert {e: ran[e] for e in seconds} == seconds, n  # keep the times measured before the kill


def test_imagefolder_study_end_to_end(ray_session, tmp_path, jpeg_tree):
    root = jpeg_tree(tmp_path / "tree", per_class=10, size=16)
    argv = ["--dataset", f"imagefolder:{root}", "--data-dir", str(tmp_path / "data"), "--space", "resnet",
            "--budget-mmacs", "1", "--trials", "2", "--epochs", "2", "--scheduler", "fifo", "--batch-size", "8",
            "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 0
    df = results.load(tmp_path / "results" / "resnet-imagefolder-tree")
    assert (df["state"] == "COMPLETE").all() and (df["dataset"] == f"imagefolder:{root}").all()
    assert df["test_accuracy"].notna().all()


def test_pareto_study_with_an_external_storage(ray_session, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    argv = TINY + ["--objectives", "accuracy,macs", "--sampler", "nsga2", "--trials", "3", "--epochs", "1",
                   "--storage", storage, "--results-dir", str(tmp_path / "results"), "--name", "pareto"]
    assert main(argv) == 0
    study = optuna.load_study(study_name="pareto", storage=storage)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    df = results.load(tmp_path / "results" / "pareto").set_index("trial")
    for t in study.trials:
        if t.state.name == "COMPLETE":
            assert t.values == [pytest.approx(df.loc[t.number, "accuracy"]), df.loc[t.number, "macs"]]
    assert {t.number for t in study.best_trials} <= {t.number for t in study.trials if t.state.name == "COMPLETE"}
    capsys.readouterr()
    assert main(argv[:-2] + ["--name", "pareto", "--results-dir", str(tmp_path / "other")]) == 2
    assert "already holds a study 'pareto'" in capsys.readouterr().err


def test_an_epoch_budget_ends_the_study_and_a_larger_one_resumes_with_what_is_left(ray_session, tmp_path, capsys):
    argv = ["--budget-epochs", "12", "--epochs", "3", "--budget-mmacs", "0.3", "--max-concurrent", "2",
            "--results-dir", str(tmp_path), "--name", "budget"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    spent = len(results.load_epochs(tmp_path / "budget"))
    assert "the epoch budget is spent (epochs" in err and "/12)" in err and 10 <= spent <= 12 + 2 * 2, spent
    assert f"for {spent} trial-epochs" in out and "the budget bought" in out
    first = results.load(tmp_path / "budget")
    assert first["state"].isin(["COMPLETE", "PRUNED"]).all()
    assert main(["--name", "budget", "--results-dir", str(tmp_path), "--resume", "--budget-epochs", "24"]) == 0
    again = results.load(tmp_path / "budget")
    assert len(again) > len(first) and 22 <= len(results.load_epochs(tmp_path / "budget")) <= 24 + 2 * 2
    assert again.iloc[: len(first)]["accuracy"].tolist() == first["accuracy"].tolist()  # nothing re-run


def test_a_time_budget_stops_the_study_and_a_resume_spends_only_what_is_left(ray_session, tmp_path, capsys):
    # the sampler's own small networks: the queued ResNeXt-29s (29 layers deep) take longest per epoch on a
    # busy CPU, and the 20 s the resume adds must finish a trial
    argv = ["--time-budget", "25s", "--trials", "200", "--epochs", "2", "--budget-mmacs", "0.3", "--start-from", "none",
            "--max-concurrent", "2", "--results-dir", str(tmp_path), "--name", "timed"]
    assert main(argv) == 0
    assert "the time budget is spent" in capsys.readouterr().err
    first = results.load(tmp_path / "timed")
    assert 0 < (first["state"].isin(["COMPLETE", "PRUNED"])).sum() < 200
    assert main(["--name", "timed", "--results-dir", str(tmp_path), "--resume"]) == 0  # nothing left: ends at once
    assert len(results.load(tmp_path / "timed")) == len(first)
    assert main(["--name", "timed", "--results-dir", str(tmp_path), "--resume", "--time-budget", "45s"]) == 0
    assert len(results.load(tmp_path / "timed")) > len(first)


def test_hand_designs_start_the_search_as_points_of_the_space(ray_session, tmp_path, capsys):
    from spaces import SPACES, Budget
    from spaces.designs import DESIGNS

    argv = ["--space", "resnext_v3", "--start-from", "resnet8,basic3", "--trials", "3", "--epochs", "1",
            "--max-concurrent", "1", "--results-dir", str(tmp_path), "--name", "started"]
    assert main(argv) == 0
    assert "first: 2 hand designs (resnet8, basic3)\n" in capsys.readouterr().err  # named, so no hint to skip them
    df = results.load(tmp_path / "started")
    budget = Budget.from_millions(8, 1, 10, 0, 2)  # the digits default
    assert df["design"].tolist()[:2] == ["resnet8", "basic3"] and pd.isna(df["design"].iloc[2])
    assert [NetSpec.from_json(a) for a in df["arch"][:2]] == [DESIGNS[n].spec(budget) for n in ("resnet8", "basic3")]
    assert df["depth_1"].notna().all()  # the designs' rows carry the space's parameters: the sampler learns from them
