"""One writer per study: an ``flock`` on a lock file in the study folder, held for the driver's
life. The kernel releases it when the driver ends in any way (``kill -9`` included), so there
is no stale lock to take over and no race between two drivers taking one over; the file names
the holder (its command line masked) for the message that refuses a second driver."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from search.core.masking import mask_words

LOCK_NAME = ".lock"


class StudyLocked(ValueError):
    """Another live process runs this study."""


class StudyLock:
    """``with StudyLock(study_dir):`` holds the study for this process."""

    def __init__(self, study_dir: Path) -> None:
        self.path = Path(study_dir) / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> dict | None:
        """Who the lock file names (None: empty or unreadable)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def check_free(self) -> None:
        """Raise StudyLocked if a live process holds the study (without taking the lock)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StudyLocked(self._message()) from None
        finally:
            os.close(fd)

    def _message(self) -> str:
        holder = self.holder() or {}
        who = (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')} "
               f"({holder.get('command', '?')})") if holder else f"a process whose lock file {self.path} is unreadable"
        return (f"study {self.path.parent.name!r} is being run by {who}; wait for it to end or stop it "
                f"(the lock {self.path} is released when its process ends)")

    def acquire(self) -> None:
        for _ in range(5):  # the file may be removed by a holder releasing it between open and flock
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StudyLocked(self._message()) from None
            if self._same_file(fd):
                self._fd = fd
                self._write_holder(fd)
                return
            os.close(fd)  # locked a file that is no longer at self.path: try the one that is
        raise StudyLocked(f"could not take the lock {self.path}: other drivers keep replacing it")

    def _same_file(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    def _write_holder(self, fd: int) -> None:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": mask_words(" ".join(sys.argv))[:200]}  # no password in the lock or in a refusal
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: a waiting driver re-opens the path
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> StudyLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False
