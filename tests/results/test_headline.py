"""The report's headline: retrained finalists against hand designs, over seeds, with a test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from search import results
from search.report import main as report
from search.results.headline import headline, over_seeds


def runs(by: str, accuracies: dict) -> pd.DataFrame:
    return pd.DataFrame([{by: key, "state": "COMPLETE", "test_accuracy": a, "macs": 9_000_000}
                         for key, values in accuracies.items() for a in values])


RETRAINED = runs("trial", {7: [0.70, 0.71, 0.72], 3: [0.60, 0.61, 0.62]})


def test_a_clearly_better_finalist_beats_the_best_design_with_a_test_and_separate_intervals():
    table, text = headline(RETRAINED, runs("design", {"resnet8": [0.60, 0.62, 0.61], "basic3": [0.50, 0.52, 0.51]}))
    assert table["network"].tolist() == [7, "resnet8"] and table["side"].tolist() == ["search finalist", "best hand design"]
    assert text.startswith("The search's best finalist (trial 7, 0.7100") and " beats the best hand design (resnet8" in text
    assert "do not overlap" in text


def test_a_level_finalist_does_not_measurably_beat_it():
    _, text = headline(RETRAINED, runs("design", {"resnet9": [0.69, 0.73, 0.71]}))
    assert "does not measurably beat the best hand design (resnet9" in text and "intervals overlap" in text


def test_a_clearly_worse_finalist_falls_short_and_its_intervals_are_apart():
    _, text = headline(RETRAINED, runs("design", {"resnet9": [0.80, 0.81, 0.82]}))
    assert "falls short of the best hand design (resnet9" in text and "intervals do not overlap" in text


def test_one_seed_is_no_headline():
    with pytest.raises(ValueError, match="at least 2 complete seeds"):
        headline(runs("trial", {1: [0.7]}), runs("design", {"resnet8": [0.6, 0.61]}))


def test_failed_runs_do_not_count():
    df = pd.concat([RETRAINED, pd.DataFrame([{"trial": 7, "state": "FAIL", "test_accuracy": None, "macs": 1}])])
    assert over_seeds(df, "trial")["runs"].tolist() == [3, 3]


def test_the_report_leads_with_the_headline(tmp_path, capsys):
    study = shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "v1-study", tmp_path / "v1")
    results.write(RETRAINED.assign(seed=0), study, "retrain")
    base = tmp_path / "base"
    base.mkdir()
    designs = runs("design", {"resnet8": [0.60, 0.62, 0.61]}).assign(trial=range(3))
    results.write(results.typed(designs), base)
    assert report([str(study), "--baselines", str(base), "--out", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().out.startswith("The search's best finalist (trial 7")
    text = (tmp_path / "r" / "report.md").read_text()
    assert "The search's best finalist" in text and "## Headline: retrained finalists against hand designs" in text


def test_a_finalist_that_is_a_queued_hand_design_is_named_as_one():
    _, text = headline(RETRAINED, runs("design", {"resnet9": [0.69, 0.73, 0.71]}), {7: "resnet9", 3: "basic3"})
    assert text.startswith("The search's best finalist (trial 7, the hand design resnet9 queued first, 0.7100")
