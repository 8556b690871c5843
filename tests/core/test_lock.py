"""One writer per study: the lock names its holder and is taken over when the holder is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from search.core.lock import StudyLock, StudyLocked


def test_lock_is_exclusive_and_released(tmp_path):
    with StudyLock(tmp_path) as lock:
        holder = json.loads((tmp_path / ".lock").read_text())
        assert holder["pid"] == os.getpid() and lock.held
    assert not (tmp_path / ".lock").exists()


HOLD = ("import sys, time; sys.path.insert(0, {root!r}); from search.core.lock import StudyLock; "
        "lock = StudyLock({folder!r}); lock.acquire(); print('up', flush=True); time.sleep(30)")


def holding(folder) -> subprocess.Popen:
    """A process that holds the study in ``folder`` until killed."""
    code = HOLD.format(root=str(Path(__file__).resolve().parents[2]), folder=str(folder))
    proc = subprocess.Popen([sys.executable, "-c", code, "--storage", "postgresql://a:s3cret@db/x"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    return proc


def test_a_live_holder_is_named_and_a_killed_one_frees_the_study(tmp_path):
    holder = holding(tmp_path)
    try:
        with pytest.raises(StudyLocked, match=f"pid {holder.pid}") as refused:
            StudyLock(tmp_path).acquire()
        assert "s3cret" not in str(refused.value)
        with pytest.raises(StudyLocked, match="being run by"):
            StudyLock(tmp_path).check_free()
    finally:
        holder.kill()  # as kill -9: the kernel drops its flock
        holder.wait()
    StudyLock(tmp_path).check_free()
    with StudyLock(tmp_path) as lock:
        assert lock.held


def test_of_drivers_racing_for_one_study_exactly_one_wins(tmp_path):
    go = tmp_path / "go"
    code = ("import os, sys, time; sys.path.insert(0, {root!r}); from search.core.lock import StudyLock, StudyLocked\n"
            "print('ready', flush=True)\nwhile not os.path.exists({go!r}): time.sleep(0.001)\n"
            "try:\n    StudyLock({folder!r}).acquire(); print('won', flush=True); time.sleep(60)\n"
            "except StudyLocked:\n    print('refused', flush=True)")
    code = code.format(root=str(Path(__file__).resolve().parents[2]), folder=str(tmp_path / "study"), go=str(go))
    (tmp_path / "study").mkdir()
    drivers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    try:
        assert [d.stdout.readline().strip() for d in drivers] == ["ready"] * 6
        go.touch()  # all at once
        assert sorted(d.stdout.readline().strip() for d in drivers) == ["refused"] * 5 + ["won"]
    finally:
        for d in drivers:
            d.kill()
            d.wait()


@pytest.mark.parametrize("content", [
    json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename, "since": "x", "command": "search.run"}),
    json.dumps({"pid": 0, "host": os.uname().nodename}),  # pid 0 once refused forever
    json.dumps([1, 2]),
    "",  # killed between creating the file and writing it
    "{not json",
])
def test_a_lock_file_no_process_holds_is_free_whatever_it_says(tmp_path, content):
    (tmp_path / ".lock").write_text(content)
    StudyLock(tmp_path).check_free()
    with StudyLock(tmp_path):
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()


def test_the_lock_is_private_and_names_no_password(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["search.run", "--storage", "postgresql://alice:s3cret@db/optuna?password=s3cret"])
    with StudyLock(tmp_path):
        lock = tmp_path / ".lock"
        assert lock.stat().st_mode & 0o777 == 0o600
        assert "s3cret" not in lock.read_text() and "alice:***@db" in lock.read_text()
