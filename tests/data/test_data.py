"""Datasets: fixed splits held as uint8 arrays; image folders decoded once and cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from search.data.batches import DeviceData, random_crop, random_flip
from search.data.datasets import DataSpec, load


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


# Hostile image folders: each problem is one line naming the file; unreadable images are skipped.

def _refused(spec_or_call, *args, **kwargs) -> str:
    """The one-line message of the ValueError that loading raises."""
    with pytest.raises(ValueError) as err:
        spec_or_call(*args, **kwargs) if callable(spec_or_call) else load(spec_or_call)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def _png_1bit(path, width, height):
    """A valid black 1-bit PNG, written without decoding it: a 10000x10000 one is 12 KB on disk."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" * (1 + (width + 7) // 8)) * height
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return path


def _spec(root, tmp_path):
    return DataSpec(f"imagefolder:{root}", data_dir=str(tmp_path / "data"))


@pytest.mark.parametrize("size, limit", [((100, 100), 9_000), ((100, 100), 4_000), ((10_000, 10_000), None)],
                         ids=["warning-over-limit", "error-over-twice-limit", "default-limit-real-bomb"])
def test_an_image_over_the_pixel_limit_refuses_the_dataset(tmp_path, jpeg_tree, size, limit):
    from pathlib import Path

    from search.data.imagefolder import MAX_PIXELS, load_imagefolder

    root = jpeg_tree(tmp_path / "tree", split=False)
    bomb = _png_1bit(root / "dog" / "bomb.png", *size)
    before = Image.MAX_IMAGE_PIXELS
    if limit is None:
        message = _refused(_spec(root, tmp_path))
    else:
        message = _refused(load_imagefolder, root, Path(tmp_path / "data"), max_pixels=limit)
    assert f"{bomb} is {size[0]}x{size[1]} pixels, over the limit of {limit or MAX_PIXELS}" in message
    assert Image.MAX_IMAGE_PIXELS == before  # PIL's own limit is set for the decode only


def _bad_file(kind, folder, monkeypatch):
    """A file named like an image that cannot be read."""
    path = folder / f"bad-{kind}.jpg"
    if kind == "text":
        path.write_text("not a picture")
    elif kind == "truncated":
        path.write_bytes((folder / "0000.jpg").read_bytes()[:300])
    elif kind == "empty":
        path.touch()
    elif kind == "looping-link":
        path.symlink_to(path.name)
    elif kind == "broken-link":
        path.symlink_to("no-such-file.jpg")
    elif kind == "no-permission":  # tests may run as root, where chmod 000 still reads: refuse the open instead
        path.write_bytes((folder / "0000.jpg").read_bytes())
        real_open = Image.open

        def deny(fp, *args, **kwargs):
            if str(fp) == str(path):
                raise PermissionError(13, "Permission denied", str(fp))
            return real_open(fp, *args, **kwargs)

        monkeypatch.setattr(Image, "open", deny)
    return path


@pytest.mark.parametrize("kind", ["text", "truncated", "empty", "looping-link", "broken-link", "no-permission"])
def test_unreadable_images_are_skipped_and_named_in_one_line(tmp_path, jpeg_tree, capsys, monkeypatch, kind):
    root = jpeg_tree(tmp_path / "tree", split=False)
    bad = _bad_file(kind, root / "dog", monkeypatch)
    splits = load(_spec(root, tmp_path))
    assert len(splits.train_y) + len(splits.val_y) + len(splits.test_y) == 18  # the good ones, all of them
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"skipped 1 unreadable image(s) of 19: {bad} (" in err
    if kind == "text":  # said again when the images come from the cache
        load(_spec(root, tmp_path))
        assert capsys.readouterr().err.strip() == err


@pytest.mark.parametrize("case", ["more-than-10-percent", "class-left-without-images"])
def test_too_many_unreadable_images_or_a_class_without_one_is_refused(tmp_path, jpeg_tree, monkeypatch, case):
    root = jpeg_tree(tmp_path / "tree", split=False)
    if case == "more-than-10-percent":
        bad = [_bad_file("text", root / name, monkeypatch) for name in ("cat", "dog", "frog")]
        message = _refused(_spec(root, tmp_path))
        assert "3 of 21 images are unreadable (more than 10%)" in message and all(str(f) in message for f in bad)
    else:
        (root / "newt").mkdir()
        _bad_file("empty", root / "newt", monkeypatch)
        message = _refused(_spec(root, tmp_path))
        assert f"no readable training image in class folder(s) {root / 'newt'};" in message


@pytest.mark.parametrize("case", ["looping-link", "broken-link", "unlistable"])
def test_a_class_entry_that_cannot_be_followed_or_listed_is_refused(tmp_path, jpeg_tree, monkeypatch, case):
    from pathlib import Path

    root = jpeg_tree(tmp_path / "tree", split=False)
    entry = root / "newt"
    if case == "looping-link":
        entry.symlink_to("newt")
    elif case == "broken-link":
        entry.symlink_to(tmp_path / "gone")
    else:
        entry.mkdir()
        real_iterdir = Path.iterdir

        def deny(self):
            if self == entry:
                raise PermissionError(13, "Permission denied", str(self))
            return real_iterdir(self)

        monkeypatch.setattr(Path, "iterdir", deny)
    message = _refused(_spec(root, tmp_path))
    if case == "unlistable":
        assert f"cannot list {entry} (Permission denied)" in message
    else:
        assert f"cannot follow {entry} (" in message and "broken or looping link" in message


@pytest.mark.parametrize("case", ["empty-class-folders", "test-class-not-in-train"])
def test_empty_class_folders_and_test_only_classes_are_refused(tmp_path, jpeg_tree, case):
    root = jpeg_tree(tmp_path / "tree", split=case != "empty-class-folders")
    if case == "empty-class-folders":
        for name in ("ant", "bee"):
            (root / name).mkdir()
        (root / "bee" / "notes.txt").write_text("not an image")
        message = _refused(_spec(root, tmp_path))
        assert "class folder(s) with no images (.bmp, " in message
        assert f"{root / 'ant'}, {root / 'bee'}: remove them or add images" in message
    else:
        (root / "test" / "newt").mkdir()
        Image.new("RGB", (12, 12)).save(root / "test" / "newt" / "0000.jpg")
        message = _refused(_spec(root, tmp_path))
        assert f"class(es) newt of {root / 'test'} have no folder in {root / 'train'}" in message


def test_hidden_entries_and_a_cache_inside_the_tree_are_not_classes(tmp_path, jpeg_tree):
    root = jpeg_tree(tmp_path / "tree", split=False)
    (root / ".ipynb_checkpoints").mkdir()
    (root / "cat" / "._0000.jpg").write_bytes(b"\0\5\26\7 macOS resource fork")
    spec = DataSpec(f"imagefolder:{root}", data_dir=str(root))  # the cache goes in root/cache
    first, second = load(spec), load(spec)
    assert first.classes == second.classes == ("cat", "dog", "frog") and (root / "cache").is_dir()


@pytest.mark.parametrize("damage", ["truncated", "zero-bytes", "not-a-zip", "wrong-arrays"])
def test_a_damaged_cache_is_reported_deleted_and_rebuilt(tmp_path, jpeg_tree, capsys, damage):
    root = jpeg_tree(tmp_path / "tree", split=False)
    spec = _spec(root, tmp_path)
    first = load(spec)
    (cache,) = (tmp_path / "data" / "cache").glob("imagefolder-*.npz")
    data = cache.read_bytes()
    if damage == "wrong-arrays":
        np.savez(cache.open("wb"), a0=np.zeros(3))
    else:
        cache.write_bytes({"truncated": data[: len(data) // 2], "zero-bytes": b"", "not-a-zip": b"x" * 100}[damage])
    capsys.readouterr()
    second = load(spec)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"deleting the unreadable cache {cache} (" in err
    assert np.array_equal(first.train_x, second.train_x) and cache.read_bytes() == data


@pytest.mark.parametrize("split, expected", [
    (False, "the splits would get 2 train / 0 validation / 1 test images; "
            "class(es) with fewer than 2 training images: cat (1), dog (0), frog (1)"),
    (True, "the splits would get 10 train / 3 validation / 18 test images; "
           "class(es) with fewer than 2 training images: cat (1)"),
])
def test_too_few_images_for_the_splits_are_refused(tmp_path, jpeg_tree, split, expected):
    root = jpeg_tree(tmp_path / "tree", split=split, per_class=6 if split else 1)
    if split:  # one training image left for cat
        for f in sorted((root / "train" / "cat").iterdir())[1:]:
            f.unlink()
    message = _refused(_spec(root, tmp_path))
    assert f"dataset imagefolder:{root}: too few images: {expected}" in message
    assert message.endswith("each split needs 1 image and each class 2 training images: add images")


@pytest.mark.parametrize("where", ["data-dir", "cache", "parent"])
def test_a_data_dir_that_is_a_file_is_refused(tmp_path, jpeg_tree, where):
    root = jpeg_tree(tmp_path / "tree", split=False, per_class=3)
    blocker = tmp_path / "data" / "cache" if where == "cache" else tmp_path / "data"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file")
    data_dir = tmp_path / "data" / "sub" if where == "parent" else tmp_path / "data"
    message = _refused(DataSpec(f"imagefolder:{root}", data_dir=str(data_dir)))
    assert f"{blocker} is not a folder" in message and "point --data-dir at a folder" in message
