"""The README's Python examples run as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def copy_study(source: Path, target: Path) -> None:
    """A finished test study, renamed to the default study's name (folder and Optuna study)."""
    import optuna

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("optuna.db"))
    optuna.copy_study(from_study_name=source.name, from_storage=f"sqlite:///{source / 'optuna.db'}",
                      to_storage=f"sqlite:///{target / 'optuna.db'}", to_study_name=target.name)


def needs_a_study(code: str) -> bool:
    return "results/resnext-digits" in code


@pytest.mark.parametrize("code", [pytest.param(c, marks=[pytest.mark.e2e] if needs_a_study(c) else [])
                                  for c in EXAMPLES], ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(code, tmp_path, monkeypatch, request):
    monkeypatch.chdir(tmp_path)
    if needs_a_study(code):  # examples that analyse the default study get a real one
        copy_study(request.getfixturevalue("small_study"), tmp_path / "results" / "resnext-digits")
    exec(compile(code, str(README), "exec"), {})


@pytest.mark.parametrize("ref", sorted(set(re.findall(r"tests/(?:\w+/)?test_\w+\.py(?:::\w+)?", README.read_text()))))
def test_every_test_the_readme_cites_exists(ref):
    path, _, name = ref.partition("::")
    source = (README.parent / path).read_text()
    assert not name or re.search(rf"^def {name}\(", source, flags=re.M), f"README cites {ref}, which is not there"
