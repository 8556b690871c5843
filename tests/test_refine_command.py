"""``python -m search.refine``: trends from a study's table, a refined space that loads, a plot."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import spaces
from search import results
from search.refine import main


def study(tmp_path, space: str = "resnext") -> str:
    rng = np.random.default_rng(0)
    depth = rng.integers(1, 5, 40)
    rows = pd.DataFrame({"trial": range(40), "state": "COMPLETE", "space": space, "depth_1": depth,
                         "accuracy": 0.6 - 0.08 * depth + rng.normal(0, 0.01, 40), "macs": 5_000_000})
    folder = tmp_path / "s"
    folder.mkdir()
    results.write(results.typed(rows), folder)
    return str(folder)


def test_refine_writes_a_refined_space_that_searches_and_a_plot(tmp_path, capsys):
    assert main([study(tmp_path)]) == 0
    refined = json.loads((tmp_path / "s" / "refined.json").read_text())
    assert refined["base"] == "resnext" and refined["ranges"] == {"depth_1": {"low": 1, "high": 1}}
    assert (tmp_path / "s" / "refined.png").stat().st_size > 0 and "depth_1" in capsys.readouterr().out
    assert isinstance(spaces.get(f"refined:{tmp_path / 's' / 'refined.json'}"), spaces.refined.RefinedSpace)


def test_refine_never_overwrites_and_refuses_a_mix_of_spaces(tmp_path, capsys):
    folder = study(tmp_path)
    (tmp_path / "s" / "refined.json").write_text("keep")
    assert main([folder]) == 2 and (tmp_path / "s" / "refined.json").read_text() == "keep"
    assert "it exists" in capsys.readouterr().err
    other = tmp_path / "o"
    other.mkdir()
    results.write(results.typed(results.load(folder).assign(space="resnet")), other)
    assert main([folder, str(other), "--out", str(tmp_path / "r.json")]) == 2
    assert "refine one space at a time" in capsys.readouterr().err and not (tmp_path / "r.json").exists()
