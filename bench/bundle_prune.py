"""Leaves the GPU host's own packages in charge of an unpacked bundle (bench/gpu_bundle.sh).

The bundle holds Ray, Optuna and all they import, pinned as tested here. A host that lacks Ray
and Optuna usually has many of the rest (packaging, typing_extensions, click, pytest and its
plugins...), and a bundle first on ``PYTHONPATH`` would shadow them: torch would import the
bundle's typing_extensions, and the host's pytest plugins would load into the bundle's pytest.
So every distribution the host already has, at a version that meets what the bundle's remaining
distributions ask of it, is deleted from the bundle; one whose host version falls short stays,
and the line printed for it says which host packages it shadows.

    python3 bench/bundle_prune.py SITE    # the host's Python, SITE not on sys.path
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path


EXTRAS = ("", "tune")  # the project installs ray[tune]: what that extra asks for counts too


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(dist: md.Distribution):
    """The distribution's requirements for this Python, its ``EXTRAS`` included."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in dist.requires or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:  # a host package's odd metadata is not the bundle's concern
            continue
        if req.marker is None or any(req.marker.evaluate({"extra": extra}) for extra in EXTRAS):
            yield canonical(req.name), req.specifier


def meets(version: str, specifiers) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return all(spec.contains(Version(version), prereleases=True) for spec in specifiers)
    except InvalidVersion:
        return False


def prune(site: Path, host: dict[str, md.Distribution]) -> list[str]:
    """Deletes the bundle's distributions the host can stand in for; one line per decision."""
    bundle = {canonical(d.metadata["Name"]): d for d in md.distributions(path=[str(site)])}
    kept = set(bundle)
    while True:  # dropping one drops its requirements, which may free another
        needs = defaultdict(list)
        for name in kept:
            for dep, spec in requirements(bundle[name]):
                needs[dep].append(spec)
        free = {n for n in kept if n in host and meets(host[n].version, needs[n])}
        if not free:
            break
        kept -= free
    lines = []
    for name in sorted(bundle):
        version = bundle[name].version  # read before its files go
        if name not in kept:
            remove(site, bundle[name])
            lines.append(f"host's {name} {host[name].version} (bundle's {version} removed)")
        elif name in host:
            wanted = ", ".join(sorted({str(s) for s in needs[name] if str(s)})) or "-"
            shadowed = sorted({h for h, d in host.items() for dep, spec in requirements(d)
                               if dep == name and not meets(version, [spec])})
            lines.append(f"bundle's {name} {version} over host's {host[name].version} (the bundle needs {wanted})"
                         + (f"; too far from what host's {', '.join(shadowed)} needs" if shadowed else ""))
    remove_empty_folders(site)  # once, after every removal: the bundle holds thousands of folders
    return lines


def remove(site: Path, dist: md.Distribution) -> None:
    """Every file its RECORD lists, and its .dist-info folder."""
    for file in dist.files or ():
        path = (site / file).resolve()
        if path.is_relative_to(site) and path.is_file():
            path.unlink()
        if file.name == "METADATA" and file.parent.name.endswith(".dist-info"):
            shutil.rmtree(site / file.parent, ignore_errors=True)  # e.g. licence files RECORD missed


def remove_empty_folders(site: Path) -> None:
    for folder in sorted((p for p in site.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("site", type=Path, help="the bundle's unpacked site/ folder")
    site = p.parse_args().site.resolve()
    if any(Path(entry or ".").resolve() == site for entry in sys.path):
        sys.exit("bundle_prune: run it with the bundle off sys.path (it must see the host's packages alone)")
    host: dict[str, md.Distribution] = {}
    for dist in md.distributions():  # in sys.path order: the first copy is the one Python imports
        if dist.metadata["Name"]:
            host.setdefault(canonical(dist.metadata["Name"]), dist)
    try:
        import packaging.requirements  # noqa: F401
    except ImportError:  # a host without packaging: the bundle's copy reads the requirements
        sys.path.append(str(site))
    for line in prune(site, host):
        print(f"bundle: {line}")


if __name__ == "__main__":
    main()
