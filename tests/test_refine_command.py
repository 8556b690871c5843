"""``python -m search.refine``: trends from a study's table, a refined space that loads, a plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pandas as pd

import spaces
from search import results
from search.refine import main


def study(tmp_path, space: str = "resnext_v1") -> str:
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
    assert refined["base"] == "resnext_v1" and refined["ranges"] == {"depth_1": {"low": 1, "high": 1}}
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


def sampled_study(tmp_path, name: str = "v3", space: str = "resnext_v3") -> str:
    """40 networks of ``space`` at 32px and <= 10 MMACs, as a study folder: one-stage networks and
    a stride-1 first stage clearly worse (as measured on CIFAR-10)."""
    import optuna

    from blocks import complexity
    from search.config.study import StudyConfig

    config = StudyConfig(space=space, max_mmacs=10, name=name)
    budget, rows = config.budget(32, 3, 10), []
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for number in range(40):
        trial = study.ask()
        spec = spaces.get(space)(trial, budget)
        error = 0.5 + 0.2 * (trial.params["stages"] == 1) + 0.1 * (trial.params["stride_1"] == 1) + 0.002 * (number % 5)
        rows.append({"trial": number, "state": "COMPLETE", "space": config.space, "accuracy": 1 - error,
                     "macs": complexity(spec, 32).macs, "arch": spec.to_json(), **trial.params})
    folder = tmp_path / name
    folder.mkdir()
    results.write(results.typed(pd.DataFrame(rows)), folder)
    (folder / "study.json").write_text(config.to_json())
    return str(folder)


def test_what_a_hand_design_takes_is_kept_and_a_refined_study_keeps_its_earlier_ranges(tmp_path, capsys):
    assert main([sampled_study(tmp_path), "--out", str(tmp_path / "r.json")]) == 0
    refined = json.loads((tmp_path / "r.json").read_text())
    assert refined["base"] == "resnext_v3" and refined["ranges"] == {"stages": {"low": 2, "high": 4}}
    assert "kept because a hand design takes it: stride_1=1" in capsys.readouterr().out
    again = sampled_study(tmp_path, "again", f"refined:{tmp_path / 'r.json'}")
    assert main([again, "--out", str(tmp_path / "r2.json")]) == 0
    assert json.loads((tmp_path / "r2.json").read_text())["ranges"]["stages"] == {"low": 2, "high": 4}


@pytest.mark.parametrize("size, mmacs", [(8, 2), (32, 10), (127, 300), (128, 300), (224, 600)])
def test_the_study_budget_has_the_image_size_its_networks_were_built_for(tmp_path, size, mmacs):
    import optuna

    from blocks import complexity
    from search.config.study import StudyConfig
    from search.refine import study_budget

    config = StudyConfig(space="resnext_v3", max_mmacs=mmacs, name="s")
    budget = config.budget(size, 3, 10)
    spec = spaces.get("resnext_v3")(optuna.create_study().ask(), budget)
    (tmp_path / "study.json").write_text(config.to_json())
    df = pd.DataFrame({"trial": [0], "arch": [spec.to_json()], "macs": [complexity(spec, size).macs]})
    assert study_budget(tmp_path, df) == budget


def test_a_refined_file_written_before_the_default_moved_keeps_its_base(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"base": "resnext", "ranges": {"bottleneck_ratio_1": {"choices": [0.5]}}}))
    assert spaces.get(f"refined:{path}").base is spaces.SPACES["resnext_v1"]
