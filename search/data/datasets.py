"""Datasets by name, held whole as uint8 arrays: a fixed, seeded train/validation split of the
training data, and the test split kept apart for the final report.

    digits            scikit-learn's 8x8 handwritten digits (embedded; no network)
    cifar10, cifar100, fashionmnist, mnist
                      torchvision's, read from --data-dir (downloaded only with --download)
    imagefolder:PATH  one folder per class; PATH/train and PATH/test if both exist, otherwise a
                      fixed 20% of PATH is the test split. Decoded once, cached under PATH's
                      --data-dir cache, so the next study starts in seconds. Unreadable images are
                      skipped and named on stderr (over 10% of them, or a class left with none, is an
                      error); an image over 8192x8192 pixels, a broken link, an unlistable or empty
                      class folder are errors (search/imagefolder.py has the rules).

Every split must hold an image, and every class 2 images to train on (before the validation split).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.data.imagefolder import load_imagefolder
from search.core.io import file_in_the_way

SPLIT_SEED = 0  # fixed: every study on a dataset compares trials on the same validation images
TORCHVISION = {"cifar10": "CIFAR10", "cifar100": "CIFAR100", "fashionmnist": "FashionMNIST", "mnist": "MNIST"}
NATURAL = {"cifar10", "cifar100", "imagefolder"}  # random crop + flip suit these, not digits
MIN_TRAIN_PER_CLASS = 2  # so that a class can have images in both the training and the validation split


@dataclass(frozen=True)
class DataSpec:
    """What a trial needs to load its data: small, plain, picklable."""

    name: str = "digits"
    data_dir: str = "data"
    download: bool = False

    @property
    def kind(self) -> str:
        return "imagefolder" if self.name.startswith("imagefolder:") else self.name

    @property
    def embedded(self) -> bool:
        """Held in the installed packages (digits): it loads in a fraction of a second."""
        return self.name == "digits"


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
    if spec.kind == "imagefolder" or spec.name in TORCHVISION:
        _check_data_dir(spec)
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


def _check_data_dir(spec: DataSpec) -> None:
    """The folder to be made (the image cache, or torchvision's files) has no file in its way."""
    blocking = file_in_the_way(Path(spec.data_dir) / ("cache" if spec.kind == "imagefolder" else ""))
    if blocking is not None:
        raise ValueError(f"--data-dir {spec.data_dir!r}: {blocking} is not a folder (a file or a broken link): "
                         "point --data-dir at a folder, or move the file away")


def load(spec: DataSpec) -> Splits:
    check(spec)
    if spec.name == "digits":
        x, y, classes = _digits()
        x_test = y_test = None
    elif spec.kind == "imagefolder":
        x, y, x_test, y_test, classes = load_imagefolder(Path(spec.name.partition(":")[2]), Path(spec.data_dir))
    else:
        x, y, x_test, y_test, classes = _torchvision(spec)
    if x_test is None:
        (x, y), (x_test, y_test) = _split(x, y, 0.2)
    (train_x, train_y), (val_x, val_y) = _split(x, y, 0.2 if len(x) < 20_000 else 0.1)
    _check_sizes(spec.name, classes, y, (len(train_y), len(val_y), len(y_test)), train_y)
    return Splits(train_x, train_y, val_x, val_y, x_test, y_test, tuple(classes), spec.kind in NATURAL)


def _check_sizes(name: str, classes, y: np.ndarray, sizes: tuple[int, int, int], train_y: np.ndarray) -> None:
    """Refuses an empty split, or a class with fewer than MIN_TRAIN_PER_CLASS images in the
    training data ``y`` (train and validation together); reports a class the validation split took whole."""
    counts = np.bincount(y, minlength=len(classes))
    few = [f"{c} ({n})" for c, n in zip(classes, counts) if n < MIN_TRAIN_PER_CLASS]
    if 0 in sizes or few:
        short = f"; class(es) with fewer than {MIN_TRAIN_PER_CLASS} training images: {', '.join(few)}" if few else ""
        raise ValueError(f"dataset {name}: too few images: the splits would get {sizes[0]} train / {sizes[1]} "
                         f"validation / {sizes[2]} test images{short}; each split needs 1 image and each class "
                         f"{MIN_TRAIN_PER_CLASS} training images: add images")
    missing = [c for c, n in zip(classes, np.bincount(train_y, minlength=len(classes))) if n == 0]
    if missing:
        print(f"dataset {name}: no training image left for class(es) {', '.join(missing)} "
              "(the validation split took them all)", file=sys.stderr)


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
