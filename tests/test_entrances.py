"""Every command-line entrance refuses the same hostile input the same way: one line on stderr,
exit 2, nothing written (no folder, no file, no password anywhere), whatever the command."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

from search import baselines, describe, report, retrain, run
from search.study import resources

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1-study"  # a finished 3-trial study
SECRET = "s3cretpw"
CPU_BOX = resources.Available(((2.0, 0.0),))


def _run(tmp: Path, *flags: str) -> list[str]:
    return ["--trials", "1", "--epochs", "1", "--results-dir", str(tmp / "results"), *flags]


def _retrain(tmp: Path, *flags: str) -> list[str]:
    return [str(tmp / "results" / "v1"), "--epochs", "1", *flags]


def _baselines(tmp: Path, *flags: str) -> list[str]:
    return ["--seeds", "1", "--epochs", "1", "--results-dir", str(tmp / "results"), *flags]


ENTRANCES: dict[str, tuple[Callable, Callable]] = {"run": (run.main, _run), "retrain": (retrain.main, _retrain),
                                                   "baselines": (baselines.main, _baselines)}

HOSTILE = [  # (flags, what the one line must say): each refused alike by every study entrance
    (["--storage-path", f"s3://key:{SECRET}@bucket/x"], "give its credentials through the environment"),
    (["--address", "127.0.0.1:1"], "cannot join Ray at 127.0.0.1:1"),
    (["--address", "no address"], "is not a Ray address"),
    (["--gpus-per-trial", "1"], "--gpus-per-trial 1: this machine has no GPU"),
    (["--cpus-per-trial", "999"], "--cpus-per-trial 999: this machine has at most 2 CPUs"),
    (["--cpus-per-trial", "0"], "--cpus-per-trial must be a finite number > 0"),
    (["--gpu-share", "0"], "--gpu-share must be in (0, 1]"),
    (["--max-concurrent", "-1"], "--max-concurrent must be an integer >= 0"),
    (["--storage-path", " "], "--storage-path is empty"),
]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def box(tmp_path, monkeypatch):
    """A tmp folder holding a finished study, on a machine with 2 CPUs and no GPU."""
    shutil.copytree(FIXTURE, tmp_path / "results" / "v1")
    monkeypatch.setattr(resources, "local_available", lambda: CPU_BOX)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(main: Callable, argv: list[str], root: Path, capsys) -> str:
    before = _tree(root)
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refuses a flag's text before the command runs
        code = stop.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert _tree(root) == before  # nothing written, nothing removed
    assert SECRET not in err and not any(SECRET.encode() in data for data in _tree(root).values())
    return err.partition(": error: ")[2]


@pytest.mark.parametrize("flags, words", HOSTILE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_every_study_entrance_refuses_the_same_input_alike(flags, words, box, capsys):
    messages = {name: _refused(main, argv(box, *flags), box, capsys) for name, (main, argv) in ENTRANCES.items()}
    assert all(words in m for m in messages.values()), messages
    assert len(set(messages.values())) == 1, messages  # the same line, whichever command


def test_a_retraining_refused_leaves_no_retrain_folder_and_no_password_on_disk(box, capsys):
    """The regression: a --storage-path with a password used to reach retrain/study.json and optuna.db."""
    _refused(retrain.main, _retrain(box, "--storage-path", f"s3://key:{SECRET}@bucket/x"), box, capsys)
    assert not (box / "results" / "v1" / "retrain").exists()


@pytest.mark.parametrize("entrance, argv, words", [
    ("run", ["--results-dir", "file/sub"], "is not a folder"),
    ("retrain", ["v1", "--epochs", "1", "--results-dir", "file/sub"], "is not a folder"),
    ("report", ["v1", "--results-dir", "file/sub"], "is not a folder"),
    ("run", ["--name", ""], "must be a plain name"),
    ("run", ["--start-from", "resnet50"], "unknown hand design 'resnet50'"),
    ("run", ["--space", "resnext_v1", "--start-from", "hand"], "--start-from: space 'resnext_v1' cannot state a network as its parameters"),
    ("run", ["--time-budget", "5d"], "expected a duration"),
    ("run", ["--budget-epochs", "3"], "--budget-epochs 3 cannot train one trial of 10 epochs"),
    ("baselines", ["--name", "a/b"], "must be a plain name"),
    ("baselines", ["--name", ""], "must be a plain name"),
    ("baselines", ["--seeds", "0"], "--seeds must be an integer >= 1"),
    ("baselines", ["--results-dir", "file/sub"], "is not a folder"),
    ("run", ["--name", "a/b"], "must be a plain name"),
    ("run", ["--name", ".."], "must be a plain name"),
    ("retrain", ["nothing", "--epochs", "1"], "nothing is not a study"),
    ("report", ["nothing"], "nothing is not a study"),
    ("run", ["--space", ".relative:f"], "space '.relative:f'"),
    ("describe", [".relative:f"], "space '.relative:f'"),
    ("run", ["--space", "nosuchmodule_x:f"], "cannot import module"),
    ("describe", ["nosuchmodule_x:f"], "cannot import module"),
    ("run", ["--storage", f"postgresql://u:{SECRET}@127.0.0.1:1/db"], "cannot open storage postgresql://u:***@"),
])
def test_bad_names_and_folders_are_refused_at_every_entrance_that_takes_them(entrance, argv, words, box, capsys):
    (box / "file").write_text("keep")
    main = {"run": run.main, "retrain": retrain.main, "report": report.main, "describe": describe.main,
            "baselines": baselines.main}[entrance]
    assert words in _refused(main, argv, box, capsys)


def test_an_os_error_without_a_reason_is_still_one_line(capsys):
    from search.cli import run_main

    def broken() -> int:
        raise OSError("disk gone")

    assert run_main("prog", broken) == 2 and capsys.readouterr().err == "prog: error: OSError: disk gone\n"
