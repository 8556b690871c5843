"""Datasets by name, held whole as uint8 arrays: a fixed, seeded train/validation split of the
training data, and the test split kept apart for the final report.

    digits            scikit-learn's 8x8 handwritten digits (embedded; no network)
    cifar10, cifar100, fashionmnist, mnist
                      torchvision's, read from --data-dir (downloaded only with --download)
    imagefolder:PATH  one folder per class; PATH/train and PATH/test if both exist, otherwise a
                      fixed 20% of PATH is the test split. Decoded once, cached under PATH's
                      --data-dir cache, so the next study starts in seconds.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import write_atomic

SPLIT_SEED = 0  # fixed: every study on a dataset compares trials on the same validation images
TORCHVISION = {"cifar10": "CIFAR10", "cifar100": "CIFAR100", "fashionmnist": "FashionMNIST", "mnist": "MNIST"}
NATURAL = {"cifar10", "cifar100", "imagefolder"}  # random crop + flip suit these, not digits
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}


@dataclass(frozen=True)
class DataSpec:
    """What a trial needs to load its data: small, plain, picklable."""

    name: str = "digits"
    data_dir: str = "data"
    download: bool = False

    @property
    def kind(self) -> str:
        return "imagefolder" if self.name.startswith("imagefolder:") else self.name


@dataclass(frozen=True)
class Splits:
    """Whole splits as uint8 (N, C, H, W) arrays and int64 labels."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...]
    augment: bool

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and std of the training images, in [0, 1] units."""
        x = self.train_x.astype(np.float64) / 255.0
        return x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3)) + 1e-6


def check(spec: DataSpec) -> None:
    """Reject an unknown name or a missing folder in one line, before anything loads."""
    if spec.kind == "imagefolder":
        path = Path(spec.name.partition(":")[2])
        if not path.is_dir():
            raise ValueError(f"dataset {spec.name!r}: {path} is not a directory of class folders")
    elif spec.name != "digits" and spec.name not in TORCHVISION:
        names = ", ".join(["digits", *TORCHVISION, "imagefolder:PATH"])
        raise ValueError(f"unknown dataset {spec.name!r}: choose from {names}")
    elif spec.name in TORCHVISION and not spec.download and not Path(spec.data_dir).is_dir():
        raise ValueError(
            f"dataset {spec.name!r}: data directory {spec.data_dir!r} does not exist; "
            "point --data-dir at it or pass --download"
        )


def load(spec: DataSpec) -> Splits:
    check(spec)
    if spec.name == "digits":
        x, y, classes = _digits()
        x_test = y_test = None
    elif spec.kind == "imagefolder":
        x, y, x_test, y_test, classes = _imagefolder(Path(spec.name.partition(":")[2]), Path(spec.data_dir))
    else:
        x, y, x_test, y_test, classes = _torchvision(spec)
    if x_test is None:
        (x, y), (x_test, y_test) = _split(x, y, 0.2)
    (train_x, train_y), (val_x, val_y) = _split(x, y, 0.2 if len(x) < 20_000 else 0.1)
    return Splits(train_x, train_y, val_x, val_y, x_test, y_test, tuple(classes), spec.kind in NATURAL)


def _split(x: np.ndarray, y: np.ndarray, fraction: float):
    """(rest, held-out) with a fixed seed; the held-out part is ``fraction`` of the images."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    cut = len(x) - int(round(len(x) * fraction))
    keep, held = order[:cut], order[cut:]
    return (x[keep], y[keep]), (x[held], y[held])


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return x, digits.target.astype(np.int64), [str(c) for c in range(10)]


def _torchvision(spec: DataSpec):
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION[spec.name])
    try:
        train, test = (cls(spec.data_dir, train=t, download=spec.download) for t in (True, False))
    except RuntimeError as err:
        raise ValueError(f"dataset {spec.name!r} not found under {spec.data_dir!r} ({err}); pass --download") from None
    return (*_arrays(train), *_arrays(test), list(train.classes))


def _arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(dataset.data)
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # (N, H, W) or (N, H, W, C)
    return np.ascontiguousarray(x, dtype=np.uint8), np.asarray(dataset.targets, dtype=np.int64)


def _imagefolder(root: Path, data_dir: Path):
    parts = [root / "train", root / "test"] if (root / "train").is_dir() and (root / "test").is_dir() else [root]
    files = [_list_images(p) for p in parts]
    classes = sorted({c for part in files for c, _ in part})
    if not classes:
        raise ValueError(f"dataset imagefolder:{root}: no images found in class folders under {root}")
    cache = data_dir / "cache" / f"imagefolder-{_fingerprint(root, files)}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            arrays = [z[k] for k in sorted(z.files)]
    else:
        arrays = _decode_all(files, classes)
        _save_npz(cache, arrays)
    x, y = arrays[0], arrays[1]
    x_test, y_test = (arrays[2], arrays[3]) if len(arrays) == 4 else (None, None)
    return x, y, x_test, y_test, classes


def _list_images(folder: Path) -> list[tuple[str, str]]:
    return sorted(
        (cls.name, str(f))
        for cls in folder.iterdir() if cls.is_dir()
        for f in cls.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES
    )


def _fingerprint(root: Path, files) -> str:
    digest = hashlib.sha1(str(root.resolve()).encode())
    for part in files:
        for _, f in part:
            st = os.stat(f)
            digest.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _decode_all(files, classes) -> list[np.ndarray]:
    from PIL import Image

    index = {c: i for i, c in enumerate(classes)}
    images = [[np.asarray(Image.open(f).convert("RGB")) for _, f in part] for part in files]
    (h, w), _ = Counter(im.shape[:2] for part in images for im in part).most_common(1)[0]
    size = min(h, w)
    arrays = []
    for part, decoded in zip(files, images):
        x = np.stack([im if im.shape[:2] == (size, size) else _resize(im, size) for im in decoded])
        arrays += [x.transpose(0, 3, 1, 2).copy(), np.array([index[c] for c, _ in part], dtype=np.int64)]
    return arrays


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def _save_npz(path: Path, arrays: list[np.ndarray]) -> None:
    """Written to a temporary file and renamed, so an interrupted write leaves no cache."""
    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add .npz to a bare temp name
            np.savez(f, **{f"a{i}": a for i, a in enumerate(arrays)})

    write_atomic(path, save)
