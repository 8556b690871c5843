"""bench/gpu_bundle.sh without the network: it parses, answers --help and bad options, and its
package list leaves out what the GPU host already has (a wheel of those would shadow its CUDA build);
bench/bundle_prune.py drops from the unpacked bundle what the host has at a version that fits."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

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


def fake_site(root: Path, dists: dict[str, tuple[str, list[str]]]) -> Path:
    """A site folder of installed distributions: name -> (version, Requires-Dist lines)."""
    for name, (version, requires) in dists.items():
        info = root / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
        (info / "METADATA").write_text("\n".join([f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}",
                                                  *(f"Requires-Dist: {r}" for r in requires)]) + "\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    return root


@pytest.mark.parametrize("host, removed", [
    ({"b": ("2.1", [])}, {"b"}),  # the host's b meets a's b>=2: the host's is used
    ({"b": ("1.0", [])}, set()),  # too old for a: the bundle's stays, first on the path
    ({"b": ("2.0", []), "c": ("2.0", [])}, {"b", "c"}),  # once b goes, nothing asks c==3 any more
    ({"c": ("2.0", [])}, set()),  # b stays and asks c==3
    ({"pytest": ("7.0", [])}, {"pytest"}),  # nothing in the bundle constrains it
    ({"d": ("4.0", [])}, set()),  # too old for what a[tune] asks (the project installs ray[tune])
    ({"d": ("6.0", [])}, {"d"}),
])
def test_bundle_prune_leaves_the_host_its_own_packages_where_they_fit(tmp_path, host, removed):
    prune = importlib.util.module_from_spec(spec := importlib.util.spec_from_file_location("bp", ROOT / "bench" / "bundle_prune.py"))
    spec.loader.exec_module(prune)
    site = fake_site(tmp_path / "site", {"a": ("1.0", ["b>=2", "d>=5; extra == 'tune'"]), "b": ("2.5", ["c==3"]),
                                         "c": ("3.0", []), "d": ("5.0", []),
                                         "pytest": ("9.0", ["d>=99; extra == 'dev'"])})
    hosted = {d.metadata["Name"]: d for d in md.distributions(path=[str(fake_site(tmp_path / "host", host))])}
    lines = prune.prune(site, hosted)
    left = {d.metadata["Name"] for d in md.distributions(path=[str(site)])}
    assert left == {"a", "b", "c", "d", "pytest"} - removed
    assert {p.name for p in site.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")} == left
    assert sum(line.startswith("host's") for line in lines) == len(removed)
    assert {line.split()[1] for line in lines if line.startswith("bundle's")} == set(host) - removed


def _common():
    spec = importlib.util.spec_from_file_location("bench_common", ROOT / "bench" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_private_hypervolume_the_benchmarks_use_is_still_there():
    """Named so that an Optuna upgrade that drops it fails here, by name."""
    import optuna._hypervolume

    assert hasattr(optuna._hypervolume, "compute_hypervolume"), "optuna._hypervolume.compute_hypervolume is gone"


def test_hypervolume_of_a_two_objective_front():
    hypervolume = _common().hypervolume
    losses = [(-0.9, 0.5), (-0.5, 0.2), (-0.4, 0.6)]  # the last is dominated
    assert hypervolume(losses, (0.0, 1.0)) == pytest.approx(0.9 * 0.5 + 0.5 * 0.3)
    assert hypervolume([], (0.0, 1.0)) == 0.0
