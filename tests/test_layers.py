"""The layers of docs/architecture.md, held: a module imports only from its own layer or lower ones.

Lowest first: blocks < spaces < search.core < search.config < search.data < search.results
< search.training < search.study < the commands at the top of search/. Within one layer anything
goes. Every import counts, those inside functions and ``if TYPE_CHECKING:`` included. Also: blocks/
imports no Ray or Optuna; in search/ only search/study/ray_tuner.py imports Ray and only
search/study/optuna_study.py imports Optuna; no module is over 300 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("blocks", "spaces", "search")
LAYERS = ("blocks", "spaces", "search.core", "search.config", "search.data", "search.results",
          "search.training", "search.study", "search")  # lowest first; "search" = the top-level modules
ONLY_IMPORTER = {"ray": "search/study/ray_tuner.py", "optuna": "search/study/optuna_study.py"}
MAX_LINES = 300

MODULES = sorted(p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def dotted(path: str) -> str:
    """search/study/pool.py -> search.study.pool; search/results/__init__.py -> search.results."""
    parts = path[:-len(".py")].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_project_module(name: str) -> bool:
    base = ROOT / name.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def layer(name: str) -> int | None:
    """The layer of a dotted module name, or None for a module outside the project."""
    parts = name.split(".")
    if parts[0] in ("blocks", "spaces"):
        return LAYERS.index(parts[0])
    if parts[0] != "search":
        return None
    package = ".".join(parts[:2])
    return LAYERS.index(package if package in LAYERS else "search")


def imports(path: str) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports, anywhere in it."""
    return imports_of((ROOT / path).read_text(), path)


def imports_of(source: str, path: str) -> list[tuple[int, str]]:
    module = dotted(path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from search import results` imports the package search.results
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if is_project_module(sub) else base))
    return sorted(set(found))


@pytest.mark.parametrize("path", MODULES)
def test_a_module_imports_only_from_its_own_layer_or_lower_ones(path):
    own = layer(dotted(path))
    higher = [f"line {line}: {name} ({LAYERS[layer(name)]})" for line, name in imports(path)
              if layer(name) is not None and layer(name) > own]
    assert not higher, f"{path} ({LAYERS[own]}) imports from a higher layer: " + "; ".join(higher)


@pytest.mark.parametrize("path", MODULES)
def test_ray_and_optuna_are_imported_only_where_declared(path):
    for library, owner in ONLY_IMPORTER.items():
        lines = [line for line, name in imports(path) if name.split(".")[0] == library]
        if path.startswith("blocks/") or (path.startswith("search/") and path != owner):
            assert not lines, f"{path} imports {library} (lines {lines}); only {owner} may"


@pytest.mark.parametrize("path", MODULES)
def test_no_module_is_over_300_lines(path):
    lines = len((ROOT / path).read_text().splitlines())
    assert lines <= MAX_LINES, f"{path} has {lines} lines (at most {MAX_LINES}): split it by concern"


@pytest.mark.parametrize("name, expected", [
    ("blocks.spec", "blocks"), ("spaces", "spaces"), ("search.core.io", "search.core"),
    ("search.results", "search.results"), ("search.study.ray_tuner", "search.study"),
    ("search.run", "search"), ("search", "search"), ("torch.nn", None),
])
def test_the_layer_of_a_name(name, expected):
    assert (LAYERS[layer(name)] if layer(name) is not None else None) == expected


def test_imports_are_resolved_to_project_modules():
    """`from search import results` imports search.results (layer search.results), not search."""
    assert (1, "search.results") in imports_of("from search import results\n", "search/run.py")
    assert (1, "search.core.io") in imports_of("from ..core import io\n", "search/study/pool.py")
    assert (2, "optuna.trial") in imports_of("def f():\n    import optuna.trial\n", "search/run.py")
