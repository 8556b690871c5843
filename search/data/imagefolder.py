"""The ``imagefolder:PATH`` dataset: one folder per class, decoded whole to uint8 arrays once and
cached under ``--data-dir``/cache.

Hostile or broken input follows fixed rules; every refusal is a ValueError of one line that names
the file or folder and what to do, and every skip is one line on stderr:

* an image over ``MAX_PIXELS`` (a decompression bomb) refuses the whole dataset;
* an image that cannot be read (not an image, truncated, empty, no permission, a broken or looping
  link) is skipped, and the skipped files are named in one line; more than ``MAX_UNREADABLE`` of
  the images unreadable, or a class left without a readable training image, is refused;
* an entry of PATH that cannot be followed (a broken or looping link), a folder that cannot be
  listed, a class folder without images, and a class in PATH/test without a folder in PATH/train
  are refused. Hidden entries (``.name``, such as macOS's ``._x.jpg``) and the cache folder itself
  are not read;
* a cache file that cannot be read is reported, deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import warnings
import zipfile
import zlib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from search.core.errors import one_line
from search.core.io import remove_orphan_temps, write_atomic

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
# 8192 x 8192 = 64 Mi pixels per image: more than any camera photo, and a search trains on images
# resized to a few hundred pixels a side. Decoded as RGB one such image already takes 192 MiB;
# a 12 KB PNG that claims 100000 x 100000 pixels would ask for 30 GB.
MAX_PIXELS = 8192 * 8192
MAX_UNREADABLE = 0.10  # beyond this share of unreadable images the folder is broken, not a few bad files
SHOWN = 5  # files named in one message; the rest are counted


def load_imagefolder(root: Path, data_dir: Path, max_pixels: int = MAX_PIXELS):
    """(x, y, x_test, y_test, classes); x_test and y_test are None without PATH/train and PATH/test."""
    where = f"dataset imagefolder:{root}"
    split = (root / "train").is_dir() and (root / "test").is_dir()
    parts = [root / "train", root / "test"] if split else [root]
    cache_dir = data_dir / "cache"
    folders = [_class_folders(part, where, cache_dir) for part in parts]
    classes = sorted(folders[0])
    if not classes:
        raise ValueError(f"{where}: no images found in class folders under {parts[0]}: "
                         f"put each class's images in a folder of its own, {parts[0]}/CLASS/")
    empty = [str(part / cls) for part, found in zip(parts, folders) for cls, files in found.items() if not files]
    if empty:
        raise ValueError(f"{where}: class folder(s) with no images ({', '.join(sorted(IMAGE_SUFFIXES))}): "
                         f"{_listed(empty)}: remove them or add images")
    extra = sorted(set(folders[-1]) - set(classes))
    if extra:
        raise ValueError(f"{where}: class(es) {_listed(extra)} of {parts[-1]} have no folder in {parts[0]}: "
                         "add their training images or remove them from the test part")
    files = [[(cls, str(f)) for cls in sorted(found) for f in found[cls]] for found in folders]
    cache = cache_dir / f"imagefolder-{_fingerprint(root, files)}.npz"
    cached = _read_cache(cache, where) if cache.exists() else None
    if cached is None:
        remove_orphan_temps(cache)  # a run killed while writing the cache left its temporary file
        arrays, note = _decode_all(files, classes, where, max_pixels)
        _save_npz(cache, arrays, note)
    else:
        arrays, note = cached
    if note:
        print(note, file=sys.stderr)
    x_test, y_test = (arrays[2], arrays[3]) if len(arrays) == 4 else (None, None)
    return arrays[0], arrays[1], x_test, y_test, classes


def _class_folders(folder: Path, where: str, cache_dir: Path) -> dict[str, list[Path]]:
    """{class name: its image files, sorted} for each class folder of ``folder``."""
    skip = _identity(cache_dir)
    found = {}
    for entry in _entries(folder, where):
        try:
            st = entry.stat()
        except OSError as err:
            raise ValueError(f"{where}: cannot follow {entry} ({_reason(err)}): "
                             "fix or remove this broken or looping link") from None
        if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) != skip:
            found[entry.name] = [f for f in _entries(entry, where) if f.suffix.lower() in IMAGE_SUFFIXES]
    return found


def _entries(folder: Path, where: str) -> list[Path]:
    try:
        return sorted(f for f in folder.iterdir() if not f.name.startswith("."))
    except OSError as err:
        raise ValueError(f"{where}: cannot list {folder} ({_reason(err)}): fix its permissions or remove it") from None


def _identity(path: Path):
    try:
        st = path.stat()
        return st.st_dev, st.st_ino
    except OSError:
        return None


def _fingerprint(root: Path, files) -> str:
    digest = hashlib.sha1(str(root.resolve()).encode())
    for part in files:
        for _, f in part:
            try:
                st = os.stat(f)
                digest.update(f"{f}:{st.st_size}:{st.st_mtime_ns}:{st.st_mode}".encode())  # mode: a chmod counts
            except OSError:
                digest.update(f"{f}:unreadable".encode())
    return digest.hexdigest()[:16]


def _decode_all(files, classes, where: str, max_pixels: int) -> tuple[list[np.ndarray], str]:
    """The arrays of each part, and the line that names the skipped files ("" if none)."""
    from PIL import Image

    decoded, bad = [], []
    with _pil_limit(max_pixels):
        for i, part in enumerate(files):
            decoded.append([])
            for cls, f in part:
                try:
                    decoded[-1].append((cls, _decode(f, max_pixels)))
                except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                    raise ValueError(f"{where}: {f} is {_header_size(f)} pixels, over the limit of {max_pixels} "
                                     "pixels per image (a decompression bomb?): shrink or remove it") from None
                except Exception as err:  # whatever a PIL plugin raises on a broken file: the file is unreadable
                    bad.append((i, cls, f, _reason(err)))
    note = _check_unreadable(bad, decoded, files, where)
    shapes = Counter(im.shape[:2] for part in decoded for _, im in part)
    size = min(shapes.most_common(1)[0][0])
    index = {c: i for i, c in enumerate(classes)}
    arrays = []
    for part in decoded:  # a part may be empty (all its images unreadable): load() reports the empty split
        x = np.zeros((len(part), size, size, 3), np.uint8)
        for j, (_, im) in enumerate(part):
            x[j] = im if im.shape[:2] == (size, size) else _resize(im, size)
        arrays += [x.transpose(0, 3, 1, 2).copy(), np.array([index[c] for c, _ in part], dtype=np.int64)]
    return arrays, note


def _check_unreadable(bad, decoded, files, where: str) -> str:
    """Refuses a class left without a readable training image, or too many unreadable images;
    else the one line that names the skipped ones."""
    if not bad:
        return ""
    total = sum(len(part) for part in files)
    named = _listed([f"{f} ({reason})" for _, _, f, reason in bad])
    readable = {cls for cls, _ in decoded[0]}
    folders = sorted({str(Path(f).parent) for part, cls, f, _ in bad if part == 0 and cls not in readable})
    if folders:
        raise ValueError(f"{where}: no readable training image in class folder(s) {_listed(folders)}; "
                         f"unreadable: {named}: fix or remove them")
    if len(bad) > MAX_UNREADABLE * total:
        raise ValueError(f"{where}: {len(bad)} of {total} images are unreadable (more than "
                         f"{MAX_UNREADABLE:.0%}): {named}: fix or remove them")
    return f"{where}: skipped {len(bad)} unreadable image(s) of {total}: {named}"


def _decode(path: str, max_pixels: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:  # reads the header only
        if im.width * im.height > max_pixels:  # PIL has refused it at open already; kept should a plugin not
            raise Image.DecompressionBombError(f"{im.width}x{im.height}")
        return np.asarray(im.convert("RGB"))  # decodes: a truncated file raises here


@contextmanager
def _pil_limit(max_pixels: int):
    """PIL's own decompression-bomb limit set to ``max_pixels``, and its warning an error, for
    the decodes inside; both restored after (nothing is changed at import)."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _header_size(path: str) -> str:
    """'WIDTHxHEIGHT' of an image PIL refused as too large, read from its header alone."""
    from PIL import Image

    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # Image.open decodes no pixels
    try:
        with Image.open(path) as im:
            return f"{im.width}x{im.height}"
    except Exception:
        return "too many"
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _reason(err: BaseException) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        return "not an image PIL can read"
    text = getattr(err, "strerror", None) or " ".join(str(err).split()) or type(err).__name__
    return text[:80]


def _listed(names: list[str]) -> str:
    more = f", and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def _read_cache(path: Path, where: str):
    """(arrays, note) from a cache file; None, after deleting it, if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = [z[k] for k in sorted(z.files) if k.startswith("a")]
            note = str(z["skipped"]) if "skipped" in z.files else ""
        if len(arrays) not in (2, 4):
            raise ValueError(f"{len(arrays)} arrays, not 2 or 4")
        return arrays, note
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        print(f"{where}: deleting the unreadable cache {path} ({one_line(err)}); decoding the images again",
              file=sys.stderr)
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # the new cache replaces it
        return None


def _save_npz(path: Path, arrays: list[np.ndarray], note: str) -> None:
    """Written to a temporary file and renamed, so an interrupted write leaves no cache."""
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    if note:
        named["skipped"] = np.array(note)  # said again on every load from the cache

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add .npz to a bare temp name
            np.savez(f, **named)

    write_atomic(path, save)
