"""python -m search.report on real studies; Optuna's own views of a study."""

from __future__ import annotations

import io
import json
import shutil
import wsgiref.util

import optuna
import pandas as pd
import pytest

from search.results import analysis
from search import results
from search.report import main


def test_report_prints_tables_and_writes_plots(small_study, tmp_path, capsys):
    out = tmp_path / "report"
    assert main([str(small_study), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for title in ("Accuracy against grouping", "Pareto front: accuracy against MACs", "Top 10 trials"):
        assert f"## {title}" in printed
    assert "cardinality |" in printed and "speedup_vs_dense" in printed
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "accuracy_vs_macs.png", "accuracy_vs_param_reduction.png", "flop_reduction_vs_speedup.png"} <= names
    assert "edf.png" not in names  # one study, one space: no EDF to compare
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "![accuracy_vs_macs](accuracy_vs_macs.png)" in (out / "report.md").read_text()


def test_report_of_several_studies_adds_edf_plots(small_study, tmp_path):
    shutil.copytree(small_study, tmp_path / "other")
    assert main([str(small_study), str(tmp_path / "other"), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "edf.png").exists() and (tmp_path / "r" / "edf_params_normalised.png").exists()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_report_formats(small_study, tmp_path, capsys, fmt):
    assert main([str(small_study), "--out", str(tmp_path), "--format", fmt]) == 0
    grouping = capsys.readouterr().out.split("## ")[1].split("\n", 2)[2].strip()
    table = pd.read_csv(io.StringIO(grouping)) if fmt == "csv" else pd.DataFrame(json.loads(grouping))
    epochs = results.load_epochs(small_study)
    df = results.load(small_study).assign(study=small_study.name)
    at = analysis.at_epoch(df, epochs.assign(study=small_study.name), analysis.default_epoch(epochs))
    expected = results.grouping_table(at)
    assert table["cardinality"].tolist() == expected["cardinality"].tolist()


def test_report_refuses_a_study_without_complete_trials(small_study, tmp_path, capsys):
    df = results.load(small_study)
    results.write(df.assign(state="PRUNED"), tmp_path / "pruned")
    assert main([str(tmp_path / "pruned")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no complete trial" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "pruned" / "report").exists()


@pytest.mark.parametrize("argv", [["/no/such/study"], ["."], ["x", "--top", "0"], ["x", "--format", "xml"]])
def test_report_bad_input_is_one_line_exit_2(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_report_compares_every_trial_that_reached_the_default_epoch(small_study, tmp_path, capsys):
    df, epochs = results.load(small_study), results.load_epochs(small_study)
    reached = epochs.groupby("trial")["epoch"].max()
    k = max(e for e in range(1, reached.max() + 1) if (reached >= e).sum() * 2 >= len(reached))  # deepest half reached
    assert analysis.default_epoch(epochs) == k
    assert main([str(small_study), "--out", str(tmp_path / "k")]) == 0
    out = capsys.readouterr().out
    assert f"at epoch {k}: {(reached >= k).sum()} of {len(df)} trials reached it" in out
    assert main([str(small_study), "--at-epoch", "1", "--out", str(tmp_path / "1")]) == 0
    assert f"at epoch 1: {len(df)} of {len(df)} trials reached it" in capsys.readouterr().out


def test_report_at_an_epoch_no_trial_reached_is_one_line_exit_2(small_study, tmp_path, capsys):
    assert main([str(small_study), "--at-epoch", "99", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no trial reached epoch 99" in err and len(err.splitlines()) == 1 and not (tmp_path / "r").exists()


def test_optuna_visualization_and_dashboard_read_the_study(small_study):
    import matplotlib

    matplotlib.use("Agg")
    import optuna_dashboard

    storage = f"sqlite:///{small_study / 'optuna.db'}"
    study = optuna.load_study(study_name="small", storage=storage)
    assert optuna.visualization.matplotlib.plot_optimization_history(study) is not None
    assert optuna.visualization.matplotlib.plot_intermediate_values(study) is not None
    app = optuna_dashboard.wsgi(storage)
    environ = {"PATH_INFO": "/api/studies", "REQUEST_METHOD": "GET"}
    wsgiref.util.setup_testing_defaults(environ)
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200") and [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["small"]


def test_report_to_a_path_that_is_a_file_is_one_line_exit_2(small_study, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main([str(small_study), "--out", str(tmp_path / "file")]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_storage_urls_are_printed_with_passwords_masked():
    from search.study.optuna_study import mask_password

    masked = mask_password("postgresql://alice:s3cret@db.example:5432/optuna")
    assert "s3cret" not in masked and "alice" in masked and "db.example" in masked
    assert mask_password("sqlite:///results/x/optuna.db") == "sqlite:///results/x/optuna.db"


def test_a_study_written_before_epochs_were_recorded_is_reported_from_its_complete_trials(tmp_path, capsys):
    from pathlib import Path

    v0 = Path(__file__).resolve().parent / "fixtures" / "v0-study"
    shutil.copytree(v0, tmp_path / "v0")
    assert main([str(tmp_path / "v0"), "--out", str(tmp_path / "r")]) == 0
    assert "complete trials at their final epoch (no epochs table)" in capsys.readouterr().out
    assert main([str(tmp_path / "v0"), "--at-epoch", "1"]) == 2
    assert "recorded no epochs" in capsys.readouterr().err
