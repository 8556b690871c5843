"""Datasets: fixed splits held as uint8 arrays; image folders decoded once and cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from search.batches import DeviceData, random_crop, random_flip
from search.data import DataSpec, load


def test_digits_splits_are_fixed_disjoint_and_uint8():
    a, b = load(DataSpec("digits")), load(DataSpec("digits"))
    assert a.train_x.dtype == np.uint8 and a.train_x.shape[1:] == (1, 8, 8)
    assert (len(a.train_y), len(a.val_y), len(a.test_y)) == (1150, 288, 359)
    assert np.array_equal(a.val_x, b.val_x) and np.array_equal(a.test_y, b.test_y)
    assert a.num_classes == 10 and a.image_size == 8 and not a.augment
    from sklearn.datasets import load_digits

    def keys(x, y):
        return sorted(xi.tobytes() + bytes([yi]) for xi, yi in zip(x, y))

    digits = load_digits()
    whole = np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None]
    parts = [(a.train_x, a.train_y), (a.val_x, a.val_y), (a.test_x, a.test_y)]
    assert keys(np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])) == keys(whole, digits.target)


@pytest.mark.parametrize("split", [True, False])
def test_imagefolder_of_jpegs_loads_and_caches(tmp_path, split, jpeg_tree):
    root = jpeg_tree(tmp_path / "tree", split=split)
    spec = DataSpec(f"imagefolder:{root}", data_dir=str(tmp_path / "data"))
    first = load(spec)
    assert first.classes == ("cat", "dog", "frog") and first.channels == 3 and first.image_size == 12
    total = len(first.train_y) + len(first.val_y) + len(first.test_y)
    assert total == (36 if split else 18) and first.augment
    if split:
        assert len(first.test_y) == 18
    assert len(list((tmp_path / "data" / "cache").glob("imagefolder-*.npz"))) == 1
    second = load(spec)  # from the cache
    assert np.array_equal(first.train_x, second.train_x) and np.array_equal(first.test_y, second.test_y)
    means = [first.train_x[first.train_y == c].mean() for c in range(3)]
    assert means == sorted(means)  # labels follow the class folders


def test_imagefolder_resizes_odd_images_to_the_common_size(tmp_path, jpeg_tree):
    root = jpeg_tree(tmp_path / "tree", split=False)
    Image.new("RGB", (20, 16), (255, 0, 0)).save(root / "cat" / "odd.jpg")
    splits = load(DataSpec(f"imagefolder:{root}", data_dir=str(tmp_path / "data")))
    assert splits.image_size == 12


def test_missing_torchvision_dataset_asks_for_download(tmp_path):
    with pytest.raises(ValueError, match="--download"):
        load(DataSpec("cifar10", data_dir=str(tmp_path)))


def test_empty_imagefolder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no images"):
        load(DataSpec(f"imagefolder:{tmp_path}"))


def test_random_crop_shifts_within_padding_and_flip_mirrors():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(random_crop(x, 0, g), x)
    cropped = random_crop(x, 1, g)
    assert cropped.shape == x.shape
    for image, out in zip(x, cropped):  # every non-zero output pixel comes from the image
        assert set(out.unique().tolist()) - {0} <= set(image.unique().tolist())
    flipped = random_flip(x, torch.Generator().manual_seed(1))
    for image, out in zip(x, flipped):
        assert torch.equal(out, image) or torch.equal(out, image.flip(2))


def test_device_data_normalises_training_images_to_zero_mean():
    data = DeviceData(load(DataSpec("digits")), torch.device("cpu"))
    x = torch.cat([xb for xb, _ in data.eval_batches("train", 500)])
    assert x.dtype == torch.float32 and abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 0.05
    batches = list(data.train_batches(32, torch.Generator().manual_seed(0)))
    assert len(batches) == 1150 // 32 and all(xb.shape == (32, 1, 8, 8) for xb, _ in batches)
