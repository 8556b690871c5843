"""The README's Python examples run as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(code, tmp_path, monkeypatch, request):
    monkeypatch.chdir(tmp_path)
    if "results/resnext-digits" in code:  # examples that analyse the default study get a real one
        shutil.copytree(request.getfixturevalue("small_study"), tmp_path / "results" / "resnext-digits")
    exec(compile(code, str(README), "exec"), {})
