"""bench/gpu_bundle.sh without the network: it parses, answers --help and bad options, and its
package list leaves out what the GPU host already has (a wheel of those would shadow its CUDA build)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "gpu_bundle.sh"
HOST = {"torch", "torchvision", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "matplotlib", "pillow"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_parses_and_documents_use():
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    out = run("--help")
    assert out.returncode == 0
    assert "tar -xJf bench/bundle/gpu-bundle.tar.xz" in out.stdout and "python3 -m search.run" in out.stdout


def test_rejects_unknown_option():
    out = run("--no-such-option")
    assert out.returncode == 2 and "unknown option" in out.stderr


def test_packages_leave_out_the_host_stack_and_are_pinned():
    text = SCRIPT.read_text()
    packages = set(re.search(r"PACKAGES=\((.*?)\)", text, re.S).group(1).split())
    assert {"ray", "optuna", "pydantic", "jsonschema"} <= packages
    assert not {p.lower() for p in packages} & HOST
    assert not any(p.lower().startswith("nvidia") for p in packages)
    pinned = {re.split(r"[=<>]", line)[0].lower().replace("_", "-")
              for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert {p.lower().replace("_", "-") for p in packages} <= pinned


def test_bundle_folder_is_ignored():
    assert "/bench/bundle/" in (ROOT / ".gitignore").read_text().splitlines()
