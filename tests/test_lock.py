"""One writer per study: the lock names its holder and is taken over when the holder is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from search.lock import StudyLock, StudyLocked


def test_lock_is_exclusive_and_released(tmp_path):
    with StudyLock(tmp_path) as lock:
        holder = json.loads((tmp_path / ".lock").read_text())
        assert holder["pid"] == os.getpid() and lock.held
    assert not (tmp_path / ".lock").exists()


def test_a_live_holder_is_named(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)  # search.run"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "up"  # running, its command line in place
        (tmp_path / ".lock").write_text(json.dumps(
            {"pid": holder.pid, "host": os.uname().nodename, "since": "2026-11-27 12:00:00", "command": "search.run x"}))
        with pytest.raises(StudyLocked, match=f"pid {holder.pid}"):
            StudyLock(tmp_path).acquire()
        with pytest.raises(StudyLocked, match="being run by"):
            StudyLock(tmp_path).check_free()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("content", [
    json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename, "since": "x", "command": "search.run"}),
    "",  # killed between creating the file and writing it
    "{not json",
])
def test_a_stale_or_unreadable_lock_is_taken_over(tmp_path, content):
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
