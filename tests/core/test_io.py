"""Atomic writes: the old file or the new one, never half of one, and no temp file left."""

from __future__ import annotations

import pytest

from search.core import io


def test_write_atomic_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    io.write_text_atomic(path, "one")
    io.write_text_atomic(path, "two")
    assert path.read_text() == "two" and [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = tmp_path / "a.txt"
    io.write_text_atomic(path, "old")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        io.write_atomic(path, half_then_fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_the_temp_file_of_a_killed_writer_is_removed_and_no_other(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    path = tmp_path / "cache.npz"
    killed = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    orphan = tmp_path / f".cache.npz.{host}.{int(killed.stdout)}.tmp"  # its writer has exited
    running = tmp_path / f".cache.npz.{host}.{os.getpid()}.tmp"  # a writer that is still at work
    elsewhere = tmp_path / f".cache.npz.another-host.{int(killed.stdout)}.tmp"  # a shared folder's other host
    other = tmp_path / f".other.npz.{host}.{int(killed.stdout)}.tmp"  # another file's
    for tmp in (orphan, running, elsewhere, other):
        tmp.write_bytes(b"half")
    io.remove_orphan_temps(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (running, elsewhere, other))


@pytest.mark.parametrize("uri", [False, True], ids=["local", "file-uri"])
def test_bytes_round_trip_locally_and_through_a_uri(tmp_path, uri):
    location = f"file://{tmp_path}/x/y.bin" if uri else tmp_path / "x" / "y.bin"
    assert io.read_bytes(location) is None
    io.write_bytes_atomic(location, b"abc")
    assert io.read_bytes(location) == b"abc" and sorted(p.name for p in (tmp_path / "x").iterdir()) == ["y.bin"]
    assert io.join(location, "z") == (f"{location}/z" if uri else location / "z")
