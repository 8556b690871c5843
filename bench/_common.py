"""What the benchmarks share: their data (digits, a CIFAR-10 subset of the shared copy), the
machine's matrix-multiply rate, and plain-text tables."""

from __future__ import annotations

import os
import platform
import subprocess
import tarfile
import time
from pathlib import Path

import pandas as pd
import torch

from blocks import presets
from search.data.datasets import DataSpec, Splits, load

REPO = Path(__file__).resolve().parent.parent
# benchmarks 1 and 2: a network typical of the default study, and a dense ResNet-18 for small images
NETS = {"resnext_digits": presets.resnext_digits, "resnet18_small": presets.resnet18_small}
# the copy beside a checkout of this project; elsewhere set CIFAR_ARCHIVE (archive or extracted folder)
CIFAR_ARCHIVE = Path(os.environ.get("CIFAR_ARCHIVE", REPO.parent / "shared" / "data" / "cifar10-jpg.tar.gz"))


def cifar_root(source: Path = CIFAR_ARCHIVE, into: Path = Path("/tmp/cifar")) -> Path:
    """The ImageFolder tree (train/, test/) of the CIFAR-10 copy: ``source`` itself if it is one,
    else its archive extracted once under ``into``."""
    for folder in (source, source / "cifar10", into / "cifar10"):
        if (folder / "train").is_dir() and (folder / "test").is_dir():
            return folder
    if not source.is_file():
        raise SystemExit(f"CIFAR-10 not found at {source}: set CIFAR_ARCHIVE to its archive or to a folder with "
                         "train/ and test/ (or run on digits alone)")
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source) as tar:
        tar.extractall(into, filter="data")
    return into / "cifar10"


def cifar_subset_dir(per_class: int, test_per_class: int, workdir: Path, source: Path = CIFAR_ARCHIVE) -> Path:
    """An ImageFolder tree of symbolic links: the first ``per_class`` training and
    ``test_per_class`` test images (by name) of each class."""
    root = cifar_root(source.resolve())
    subset = workdir / f"cifar10-{per_class}-{test_per_class}"
    for split, count in (("train", per_class), ("test", test_per_class)):
        for cls in sorted(p for p in (root / split).iterdir() if p.is_dir()):
            target = subset / split / cls.name
            target.mkdir(parents=True, exist_ok=True)
            for image in sorted(cls.iterdir())[:count]:
                if not (target / image.name).exists():
                    os.symlink(image, target / image.name)
    return subset


def cifar_subset(per_class: int, test_per_class: int, workdir: Path, source: Path = CIFAR_ARCHIVE) -> Splits:
    """That subset, loaded through the project's own ``imagefolder:`` reader (decoded once, cached)."""
    subset = cifar_subset_dir(per_class, test_per_class, workdir, source)
    return load(DataSpec(f"imagefolder:{subset}", data_dir=str(workdir / "data")))


def dataset(name: str, workdir: Path, cifar_images: int = 10_000) -> Splits:
    """``digits`` or ``cifar`` (``cifar_images`` training images, a tenth as many test images)."""
    if name == "digits":
        return load(DataSpec("digits"))
    per_class = cifar_images // 10
    return cifar_subset(per_class, max(10, per_class // 10), workdir)


def matmul_gflops(threads: int, n: int = 2048, seconds: float = 1.0, device: str = "cpu",
                  dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of a large ``torch.mm`` (on ``threads`` CPU threads, or the GPU): the ceiling."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.mm(a, b)
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10 if device == "cuda" else 1):
            torch.mm(a, b)
            count += 1
        sync()
    rate = 2 * n**3 * count / (time.perf_counter() - start) / 1e9
    torch.set_num_threads(old)
    return rate


def machine() -> str:
    """One line: CPU model, cores, torch version."""
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), model)
    except OSError:
        pass
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{model}, {os.cpu_count()} cores{gpu}, torch {torch.__version__}"


def table(rows: list[dict]) -> str:
    """A plain-text table of dicts with the same keys."""
    return pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}")


def run_study(argv: list[str]) -> dict:
    """Run ``python -m search.run ARGV`` in this process: wall seconds (Ray's start-up and shutdown
    included), seconds until the first trial started, the results table, this driver's peak MiB."""
    import datetime
    import resource

    from search import results
    from search import run

    began, start = datetime.datetime.now(), time.perf_counter()
    code = run.main(argv)
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"the study exited with {code}")
    args = run.parser().parse_args(argv)
    df = results.load(Path(args.results_dir) / args.name)
    return {"wall": wall, "table": df, "first_trial_after": (df["datetime_start"].min() - began).total_seconds(),
            "driver_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def hypervolume(losses, reference) -> float:
    """Hypervolume that ``losses`` (every objective minimised) dominate up to ``reference``:
    Optuna's, from its private module, which no study imports
    (tests/test_bench_scripts.py::test_the_private_hypervolume_the_benchmarks_use_is_still_there)."""
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    points = np.asarray(losses, dtype=float).reshape(-1, len(reference))
    return float(compute_hypervolume(points, np.asarray(reference, dtype=float)))
