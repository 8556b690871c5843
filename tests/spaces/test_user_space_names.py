"""A user space named ``package.module:function``: every bad name is one line of ValueError."""

from __future__ import annotations

import pytest

from spaces import get
from search.describe import main as describe_main

MODULES = {  # written to a folder on sys.path; the names are unusual so no installed module shadows them
    "hostile_syntax_x": "def f(:\n",
    "hostile_raises_x": "raise RuntimeError('first line\\nsecond line')\n",
    "hostile_value_x": "f = 3\n",
}

HOSTILE = {
    ".foo:bar": "cannot import module '.foo' (TypeError: ",  # relative: import_module wants a package
    "..x:y": "cannot import module '..x' (TypeError: ",
    ":f": "give both parts",
    " :f": "give both parts",
    "os:": "give both parts",
    "hostile_syntax_x:f": "cannot import module 'hostile_syntax_x' (SyntaxError: ",
    "hostile_raises_x:f": "(RuntimeError: first line second line)",
    "hostile_missing_x:f": "(ModuleNotFoundError: No module named 'hostile_missing_x')",
    "hostile_value_x:f": "has no callable 'f'",
}


@pytest.fixture
def hostile_modules(tmp_path, monkeypatch):
    for name, text in MODULES.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize("name", HOSTILE)
def test_a_bad_user_space_name_is_one_line_naming_the_space_and_the_cause(name, hostile_modules):
    with pytest.raises(ValueError) as err:
        get(name)
    message = str(err.value)
    assert message.startswith(f"space {name!r}: ") and HOSTILE[name] in message and "\n" not in message


@pytest.mark.parametrize("name", [".foo:bar", ":f", "hostile_raises_x:f"])
def test_the_command_refuses_a_bad_user_space_in_one_line(name, hostile_modules, capsys):
    assert describe_main([name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"python -m search.describe: error: space {name!r}") and len(err.strip().splitlines()) == 1
