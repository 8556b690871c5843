"""One writer per study: a lock file in the study folder, created atomically, naming its holder,
released on exit, and taken over when its holder is gone (a crash or ``kill -9``)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from .masking import mask_words

LOCK_NAME = ".lock"


class StudyLocked(ValueError):
    """Another live process runs this study."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # a reused pid that runs something else is not our holder
        return b"search" in cmdline.read_bytes()
    return True


class StudyLock:
    """``with StudyLock(study_dir):`` holds the study for this process."""

    def __init__(self, study_dir: Path) -> None:
        self.path = Path(study_dir) / LOCK_NAME
        self.held = False

    def holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def _stale(self, holder: dict | None) -> bool:
        if holder is None:  # unreadable: a kill between create and write
            return True
        return holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", -1)))

    def check_free(self) -> None:
        """Raise StudyLocked if a live process holds the study (without taking the lock)."""
        holder = self.holder() if self.path.exists() else None
        if holder is not None and not self._stale(holder):
            raise StudyLocked(self._message(holder))

    def _message(self, holder: dict) -> str:
        return (
            f"study {self.path.parent.name!r} is being run by pid {holder['pid']} on {holder['host']} "
            f"since {holder['since']} ({holder['command']}); wait for it to end or stop it "
            f"(a lock whose process is gone is taken over: {self.path})"
        )

    def acquire(self) -> None:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": mask_words(" ".join(sys.argv))[:200]}  # no password in the lock or in a refusal
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                holder = self.holder()
                if not self._stale(holder):
                    raise StudyLocked(self._message(holder)) from None
                self.path.unlink(missing_ok=True)  # stale: its holder died
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return
        raise StudyLocked(f"could not take the lock {self.path}: another process took it first")

    def release(self) -> None:
        if self.held and (self.holder() or {}).get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> StudyLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False
