"""The command line: bad input is one line on stderr, exit code 2, and no file is written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from search.config.study import StudyConfig, default_name
from search.run import main

BAD = [
    (["--space", "nope"], "unknown space 'nope'"),
    (["--space", "no_such_module:f"], "cannot import module"),
    (["--dataset", "nope"], "unknown dataset 'nope'"),
    (["--dataset", "imagefolder:/no/such/dir"], "not a directory"),
    (["--dataset", "cifar10", "--data-dir", "/no/such/dir"], "does not exist"),
    (["--sampler", "nope"], "invalid choice"),
    (["--scheduler", "nope"], "invalid choice"),
    (["--objectives", "accuracy,speed"], "objectives"),
    (["--objectives", "macs,accuracy"], "the first must be accuracy"),
    (["--objectives", "accuracy,macs", "--sampler", "qmc"], "single-objective"),
    (["--trials", "0"], "--trials must be an integer >= 1"),
    (["--trials", "x"], "invalid int value"),
    (["--epochs", "0"], "epochs"),
    (["--max-concurrent", "-1"], "--max-concurrent"),
    (["--gpu-share", "0"], "--gpu-share"),
    (["--gpu-share", "1.5"], "--gpu-share"),
    (["--gpus-per-trial", "some"], "--gpus-per-trial"),
    (["--gpus-per-trial", "1.5"], "whole number"),
    (["--cpus-per-trial", "4096"], "--cpus-per-trial 4096"),  # more than any node here has
    (["--cpus-per-trial", "0"], "--cpus-per-trial"),
    (["--gpus-per-trial", "-1"], "--gpus-per-trial"),
    (["--budget-mmacs", "x"], "MIN:MAX"),
    (["--budget-mmacs", "5:1"], "below"),
    (["--budget-mmacs", "0.0001"], "no network of the space fits"),
    (["--budget-mparams", "-1"], ">= 0"),
    (["--lr", "-1"], "lr must be > 0"),
    (["--batch-size", "1"], "batch_size"),
    (["--name", "a/b"], "plain name"),
    (["--name", ".."], "plain name"),
    (["--name", "x..y"], "plain name"),
    (["--resume"], "no study 'resnext-digits'"),
    (["--storage", "sqlite:////no/such/dir/x.db"], "cannot open storage"),
    (["--storage", "postgresql://alice:s3cret@127.0.0.1:1/db"], "cannot open storage"),
    (["--unknown-flag"], "unrecognized arguments"),
    (["--address", "not an address"], "is not a Ray address"),
    (["--storage-path", " "], "--storage-path is empty"),
    (["--storage-path", "nosuchscheme://bucket/x"], "--storage-path nosuchscheme://bucket/x: "),
    (["--resume", "--storage", "sqlite:///shared.db"], "no study 'resnext-digits'"),
    (["--download", "--dataset", "nope"], "unknown dataset"),
    (["--repeats", "0"], "--repeats must be an integer >= 1"),
    (["--sampler", "grid"], "declares no grid"),
    (["--sampler", "grid", "--trials", "4"], "declares no grid"),
    (["--grace-period", "11"], "beyond the epoch budget"),
    (["--lr", "inf"], "lr must be > 0 and finite"),
    (["--cpus-per-trial", "inf"], "--cpus-per-trial"),
    (["--gpus-per-trial", "nan"], "--gpus-per-trial"),
    (["--budget-mmacs", "inf"], "finite"),
    (["--address", "localhost:70000"], "the port must be 1..65535"),
    (["--name", "x\n"], "plain name"),
    (["--seed", "-1"], "--seed must be an integer >= 0"),
    (["--seed", str(2**32)], "--seed must be below"),
    (["--batch-size", "100000"], "larger than the training split"),
    (["--reduction-factor", "1"], "--reduction-factor must be a number > 1"),
    (["--brackets", "0"], "--brackets must be an integer >= 1"),
    (["--brackets", "3", "--objectives", "accuracy,macs"], "one objective"),
]


@pytest.mark.parametrize("argv, words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv + ["--results-dir", str(tmp_path / "results")])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and words in err, err
    assert "s3cret" not in err
    assert list(tmp_path.iterdir()) == []


def test_default_names():
    assert StudyConfig().name == "resnext-digits"
    assert default_name("anynet", "imagefolder:/data/cifar10/") == "anynet-imagefolder-cifar10"
    assert default_name("my.spaces:tiny", "mnist") == "tiny-mnist"


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for flag in ("--space", "--dataset", "--data-dir", "--trials", "--epochs", "--budget-mmacs", "--budget-mparams",
                 "--sampler", "--scheduler", "--objective", "--objectives", "--cpus-per-trial", "--gpus-per-trial",
                 "--max-concurrent", "--seed", "--name", "--results-dir", "--resume", "--address", "--storage",
                 "--storage-path", "--grace-period", "--reduction-factor", "--brackets"):
        assert flag in out


V0_STUDY = Path(__file__).resolve().parent / "fixtures" / "v0-study"  # 3 finished trials, no optuna.db beside them


@pytest.mark.parametrize("database", ["deleted", "emptied"])
def test_resume_refuses_a_storage_that_lost_the_study_and_changes_nothing(database, tmp_path, capsys):
    study = tmp_path / "results" / "v0"
    shutil.copytree(V0_STUDY, study)
    if database == "emptied":
        (study / "optuna.db").write_bytes(b"")
    before = {p.name: p.read_bytes() for p in study.iterdir() if p.name != "optuna.db"}
    code = main(["--name", "v0", "--results-dir", str(tmp_path / "results"), "--resume"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "holds no such study for 'v0', but its table" in err and "has 3; nothing was changed" in err
    assert {p.name: p.read_bytes() for p in study.iterdir() if p.name != "optuna.db"} == before  # table kept
    assert (study / "optuna.db").exists() == (database == "emptied")  # a deleted database is not re-created


@pytest.mark.parametrize("stored, given, result", [
    ("postgresql://alice:***@db/optuna", "postgresql://alice:s3cret@db/optuna", "postgresql://alice:s3cret@db/optuna"),
    ("postgresql://alice:***@db/optuna", None, "pass that URL with its password as --storage"),
    ("postgresql://alice:***@db/optuna", "postgresql://bob:s3cret@other/optuna", "was created with --storage postgresql://alice:***@db"),
    ("sqlite:///shared.db", None, "sqlite:///shared.db"),
    (None, None, None),
])
def test_a_resume_supplies_the_password_that_study_json_never_holds(stored, given, result):
    from search.core.errors import StudyError
    from search.study.resume import with_storage_secret

    config = StudyConfig(storage=stored)
    if result is None or "://" in result and " " not in result:
        assert with_storage_secret(config, given).storage == result
    else:
        with pytest.raises(StudyError, match=re.escape(result)) as err:
            with_storage_secret(config, given)
        assert "s3cret" not in str(err.value)


def test_an_unreachable_ray_address_is_refused_at_once_and_leaves_no_study_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["--address", "127.0.0.1:1", "--trials", "1", "--epochs", "1", "--results-dir", str(tmp_path / "results")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot join Ray at 127.0.0.1:1" in err, err
    assert list(tmp_path.iterdir()) == []  # refused before any folder: a retry is not blocked by "already exists"


@pytest.mark.parametrize("text", ['{"space": "resn', "[1, 2]", '{"train": 3}', ""])
def test_a_damaged_study_json_is_one_line_on_resume_and_left_as_it_is(text, tmp_path, capsys):
    study = tmp_path / "results" / "v0"
    shutil.copytree(V0_STUDY, study)
    (study / "study.json").write_text(text)
    code = main(["--name", "v0", "--results-dir", str(tmp_path / "results"), "--resume"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "study.json" in err, err
    assert (study / "study.json").read_text() == text and not (study / "optuna.db").exists()


@pytest.mark.parametrize("under", ["", "sub"])
def test_a_results_dir_that_is_a_file_is_one_line_exit_2(tmp_path, capsys, under):
    (tmp_path / "file").write_text("keep")
    code = main(["--trials", "1", "--results-dir", str(tmp_path / "file" / under)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "is not a folder" in err
    assert (tmp_path / "file").read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_full_disk_is_one_line_and_leaves_no_folder_to_block_a_retry(tmp_path, monkeypatch, capsys):
    import errno

    from search.core import io

    def full(path, save, mode=None):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(b"")  # the temp file a real write would have begun
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        finally:
            tmp.unlink()

    monkeypatch.setattr(io, "write_atomic", full)
    code = main(["--trials", "1", "--results-dir", str(tmp_path / "results")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "No space left on device" in err
    assert list((tmp_path / "results").iterdir()) == []  # the same command can simply be run again


@pytest.fixture
def start_events(monkeypatch):
    """What a command does, in order, with the thread each ran on: the data's load (slow, then
    refused: the study itself is not these tests' business) and Ray's start."""
    import threading
    import time

    from search.study import pipeline as driver
    from search.study import ray_tuner

    events: list[tuple[str, str]] = []

    def slow_load(spec):
        events.append(("load starts", threading.current_thread().name))
        time.sleep(0.5)  # a cache being read
        events.append(("load ends", threading.current_thread().name))
        raise driver.StudyError("stop here")

    def start(session):
        events.append(("ray starts", threading.current_thread().name))

    monkeypatch.setattr(driver, "load", slow_load)
    monkeypatch.setattr(ray_tuner.RaySession, "start", start)
    return events


@pytest.mark.parametrize("dataset", ["imagefolder", "digits"])
def test_every_refusal_comes_before_ray_starts_even_one_that_needs_the_data(dataset, tmp_path, start_events):
    name = f"imagefolder:{tmp_path}" if dataset == "imagefolder" else dataset
    assert main(["--dataset", name, "--results-dir", str(tmp_path / "results")]) == 2
    assert [e for e, _ in start_events] == ["load starts", "load ends"]  # prepared whole; Ray never started
    assert not (tmp_path / "results").exists()


def test_an_unreachable_storage_is_refused_before_ray_starts_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from search.study import ray_tuner

    started = []
    monkeypatch.setattr(ray_tuner.RaySession, "start", lambda session: started.append(True))
    argv = ["--storage", "sqlite:////no/such/dir/x.db", "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 2 and started == []
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot open storage" in err and not (tmp_path / "results").exists()


def test_a_ctrl_c_before_the_study_runs_is_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    from search.study import pipeline as driver

    def interrupted(spec):
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "load", interrupted)
    assert main(["--results-dir", str(tmp_path / "results")]) == 130
    assert capsys.readouterr().err == "python -m search.run: interrupted\n"
    assert not (tmp_path / "results").exists()


def test_a_shared_sqlite_storage_is_not_created_by_a_study_refused_for_its_data(tmp_path, capsys):
    db = tmp_path / "shared.db"
    argv = ["--storage", f"sqlite:///{db}", "--batch-size", "100000", "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 2 and "larger than the training split" in capsys.readouterr().err
    assert not db.exists() and not (tmp_path / "results").exists()
