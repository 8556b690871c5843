"""Shared file I/O: atomic writes, and local paths or pyarrow URIs behind one interface.

Every file a study writes (its config, tables, image caches, checkpoints) goes through
``write_atomic``: readers never see half a file, and a kill leaves at most a stray temp file
(an image cache's, which may be large, is removed by the next run that writes the cache).
"""

from __future__ import annotations

import glob
import os
import socket
from pathlib import Path
from typing import Callable

def write_atomic(path: Path, save: Callable[[Path], object], mode: int | None = None) -> None:
    """``save(tmp)`` writes a temporary file in ``path``'s folder, which is then fsynced and
    renamed over ``path``; on any failure the temporary file is removed and the error raised.
    ``mode``: the file's permissions (set before it gets its name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{_temp_prefix(path)}{os.getpid()}.tmp")
    try:
        save(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        with open(tmp, "rb+") as f:  # the data is on disk before the name points to it
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_orphan_temps(path: Path) -> None:
    """Delete the temporary files of ``path`` that writers on this host left when they were killed
    (their process is gone), e.g. a decoded image cache of hundreds of MB. A writer on another
    host sharing the folder is never touched: its process cannot be seen from here."""
    prefix = _temp_prefix(path)
    for tmp in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = tmp.name[len(prefix):-len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _temp_prefix(path: Path) -> str:
    """A temporary file's name up to its writer's pid: hidden, and naming the host so that writers
    on hosts sharing a folder never collide."""
    return f".{path.name}.{socket.gethostname()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text), mode)


def write_bytes_atomic(location: Path | str, data: bytes | memoryview) -> None:
    """``data`` to a local path or a pyarrow URI, atomically: an object store's rename copies a
    whole object, so there too a reader sees the old or the new file, never half of one."""
    if not is_uri(location):
        write_atomic(Path(location), lambda tmp: tmp.write_bytes(data))
        return
    filesystem, inner = filesystem_of(location)
    parent, _, name = inner.rpartition("/")
    filesystem.create_dir(parent, recursive=True)
    tmp = f"{parent}/.{name}.{os.getpid()}.tmp"
    try:
        with filesystem.open_output_stream(tmp) as out:
            out.write(data)
        filesystem.move(tmp, inner)
    except BaseException:
        try:
            filesystem.delete_file(tmp)
        except Exception:  # already gone, or the filesystem is unreachable
            pass
        raise


def read_bytes(location: Path | str) -> bytes | None:
    """The file's bytes, or None when there is no such file."""
    filesystem, inner = filesystem_of(location)
    if filesystem.get_file_info(inner).type.name == "NotFound":
        return None
    with filesystem.open_input_stream(inner) as f:
        return f.read()


def file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing path among ``folder`` and its parents when it is not a folder (a
    file or a broken link that would stop ``mkdir -p``); None when the folder can be made."""
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            return None if path.is_dir() else path
    return None


def is_uri(location: Path | str) -> bool:
    return isinstance(location, str) and "://" in location


def filesystem_of(location: Path | str):
    """(pyarrow filesystem, path inside it): a local path, or a URI such as s3://, gs://, file://."""
    from pyarrow import fs

    if is_uri(location):
        return fs.FileSystem.from_uri(location)
    return fs.LocalFileSystem(), str(Path(location).resolve())


def join(root: Path | str, *parts: str) -> Path | str:
    """``root``/parts: a Path for a local root, a str for a URI."""
    if is_uri(root):
        return "/".join([str(root).rstrip("/"), *parts])
    return Path(root).joinpath(*parts)
