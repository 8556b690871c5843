"""Shared fixtures: a parametrized set of small specs that covers the spec space."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from blocks import NetSpec, StageSpec, presets


def basic(*stages, **net) -> NetSpec:
    return NetSpec(tuple(StageSpec(d, w, s) for d, w, s in stages), **net)


def bottleneck(*stages, **net) -> NetSpec:
    return NetSpec(tuple(StageSpec(d, w, s, "bottleneck", r, c) for d, w, s, r, c in stages), **net)


# (id, spec, image_size): basic and bottleneck blocks, cardinality 1..32, bottleneck ratios
# 0.25..4, both stems, both downsamplings (a pooled stage with no block too), 1..4 stages, 1- and
# 3-channel input, 4..224 pixel images.
SPECS = [
    ("basic-1stage-8px-1ch", basic((1, 16, 1), stem_width=16, in_channels=1), 8),
    ("basic-2stage-32px", basic((2, 16, 1), (1, 32, 2), stem_width=16), 32),
    ("basic-3stage-head", basic((1, 16, 1), (2, 32, 2), (1, 64, 2), stem_width=16, head_width=128), 32),
    ("basic-4stage-imagenet-64px", basic((1, 16, 1), (1, 32, 2), (1, 48, 2), (1, 64, 2), stem="imagenet", stem_width=16), 64),
    ("bneck-c1-r0.25", bottleneck((2, 64, 1, 0.25, 1), stem_width=16), 16),
    ("bneck-c2-r0.5", bottleneck((1, 32, 1, 0.5, 2), (1, 64, 2, 0.5, 2), stem_width=16), 16),
    ("bneck-c4-r1", bottleneck((2, 32, 1, 1.0, 4), stem_width=24, in_channels=1), 12),
    ("bneck-c8-r2", bottleneck((1, 16, 1, 2.0, 8), (1, 32, 2, 2.0, 8), stem_width=16), 16),
    ("bneck-c16-r4", bottleneck((1, 16, 2, 4.0, 16), stem_width=8), 16),
    ("bneck-c32-r0.5", bottleneck((1, 256, 1, 0.5, 32), stem_width=32), 8),
    ("bneck-depthwise", bottleneck((1, 32, 1, 1.0, 32), (1, 64, 2, 1.0, 64), stem_width=16), 16),
    ("bneck-c3-odd", bottleneck((2, 24, 1, 0.25, 3), (1, 48, 2, 0.25, 6), stem_width=12), 15),
    ("bneck-r0.75-c6", bottleneck((1, 32, 1, 0.75, 6), stem_width=16, in_channels=1), 10),
    ("bneck-3stage-28px-1ch", bottleneck((1, 32, 1, 0.5, 8), (1, 64, 2, 0.5, 8), (1, 128, 2, 0.5, 8), in_channels=1, stem_width=16), 28),
    ("bneck-digits-8px", bottleneck((1, 64, 1, 1.0, 32), (1, 64, 2, 1.0, 32), (1, 128, 2, 0.5, 32), stem_width=16, in_channels=1), 8),
    ("bneck-imagenet-head-64px", bottleneck((1, 64, 1, 0.25, 4), (1, 128, 2, 0.5, 16), stem="imagenet", stem_width=32, head_width=256), 64),
    ("bneck-4stage-stride1", bottleneck(*[(1, 32, 1, 0.5, 2)] * 4, stem_width=16), 6),
    ("imagenet-stem-4px", basic((1, 8, 1), stem="imagenet", stem_width=8), 4),
    ("mixed-basic-bneck", NetSpec((StageSpec(1, 16, 1), StageSpec(2, 64, 2, "bottleneck", 0.5, 4)), stem_width=16), 32),
    ("mixed-odd-image", NetSpec((StageSpec(1, 24, 2), StageSpec(1, 48, 2, "bottleneck", 1.0, 12)), stem_width=12), 13),
    ("pool-resnet9-like", NetSpec((StageSpec(1, 32, 2, downsample="pool"), StageSpec(0, 64, 2, downsample="pool"),
                                   StageSpec(1, 96, 2, downsample="pool")), stem_width=16), 32),
    ("pool-stride1-bneck-then-strided", NetSpec((StageSpec(2, 32, 1, "bottleneck", 0.5, 4, "pool"),
                                                 StageSpec(1, 64, 2, "bottleneck", 1.0, 8)), stem_width=16), 12),
    ("pool-odd-size-1ch", NetSpec((StageSpec(1, 16, 1), StageSpec(1, 24, 3, downsample="pool")), stem_width=8,
                                  in_channels=1), 13),
    ("d2l-resnet18-96px", presets.d2l_resnet18(), 96),
    ("resnet18-224", presets.resnet18(), 224),
    ("resnext50-224", presets.resnext50_32x4d(), 224),
]


@pytest.fixture(params=SPECS, ids=[s[0] for s in SPECS])
def spec_and_size(request) -> tuple[NetSpec, int]:
    return request.param[1], request.param[2]


# --- Ray: one local instance for the whole session, its files and token in a temp folder ----


def pytest_configure(config):
    """Before any test imports Ray (it reads its auth settings at import): Ray's own temp dir
    and auth token for the whole run. Token authentication stays on; nothing goes to HOME."""
    import os
    import secrets
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))  # short: Ray's socket paths are limited
    token = root / "auth_token"
    token.write_text(secrets.token_hex(32))
    config.ray_env = {"RAY_TMPDIR": str(root), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
                      "RAY_USAGE_STATS_ENABLED": "0"}
    os.environ.update(config.ray_env)


def pytest_collection_modifyitems(config, items):
    """A test that starts Ray or a server is ``e2e``: it uses a Ray fixture, or is a cluster test
    (``pytest -m "not e2e"`` is the quick unit tier)."""
    for item in items:
        if {"ray_env", "ray_session"} & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("cluster"):
            item.add_marker(pytest.mark.e2e)


def pytest_unconfigure(config):
    shutil.rmtree(config.ray_env["RAY_TMPDIR"], ignore_errors=True)


@pytest.fixture(scope="session")
def ray_env(pytestconfig) -> dict[str, str]:
    return pytestconfig.ray_env


@pytest.fixture(scope="session")
def ray_session(ray_env):
    import logging

    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


def _jpeg_tree(root, classes=("cat", "dog", "frog"), per_class=6, size=12, split=True):
    """A tiny ImageFolder tree of real JPEG files, each class a different brightness."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for part in (["train", "test"] if split else [""]):
        for i, name in enumerate(classes):
            folder = root / part / name
            folder.mkdir(parents=True)
            for j in range(per_class):
                pixels = np.clip(rng.normal(60 + 70 * i, 20, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{j:04d}.jpg", quality=90)
    return root


@pytest.fixture
def jpeg_tree():
    return _jpeg_tree


SMALL_STUDY = ["--space", "resnext", "--dataset", "digits", "--budget-mmacs", "0.4", "--seed", "3",
               "--trials", "6", "--epochs", "3", "--max-concurrent", "1", "--name", "small"]


@pytest.fixture(scope="session")
def small_study(ray_session, tmp_path_factory) -> Path:
    """A finished 6-trial study on digits (sequential, so ASHA's decisions repeat)."""
    from search.run import main

    out = tmp_path_factory.mktemp("studies")
    assert main(SMALL_STUDY + ["--results-dir", str(out)]) == 0
    return out / "small"
