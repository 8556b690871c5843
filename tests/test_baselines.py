"""``python -m search.baselines``: the hand designs over seeds, as a resumable study of their own."""

from __future__ import annotations

import pandas as pd

from search import baselines, results
from spaces import SPACES
from spaces.designs import DESIGNS


def test_the_baselines_are_every_design_over_every_seed_each_run_to_the_end():
    config = baselines.config_from({"max_mmacs": 10.0, "dataset": "cifar10"}, seeds=3)
    assert (config.space, config.sampler, config.repeats, config.trials) == ("hand_designs", "grid", 3, 3 * len(DESIGNS))
    assert config.schedule.scheduler == "fifo" and config.name == "baselines-cifar10"
    assert SPACES["hand_designs"].grid() == {"design": list(DESIGNS)}


def test_the_summary_gives_each_design_its_mean_and_interval_best_first():
    rows = [{"trial": i, "state": "COMPLETE", "design": d, "test_accuracy": a, "macs": 9e6, "params": 1e5}
            for i, (d, a) in enumerate([("resnet8", 0.5), ("resnet8", 0.6), ("resnet9", 0.7), ("resnet9", 0.8)])]
    text = baselines.summary(pd.DataFrame(rows))
    assert text.index("resnet9") < text.index("resnet8") and "0.7500" in text and "0.5500" in text


def test_baselines_study_runs_resumes_and_summarises(tmp_path, ray_session, capsys):
    argv = ["--seeds", "1", "--epochs", "1", "--results-dir", str(tmp_path), "--name", "b"]
    assert baselines.main(argv) == 0
    df = results.load(tmp_path / "b")
    assert sorted(df["design"]) == sorted(DESIGNS) and (df["state"] == "COMPLETE").all()
    assert "hand designs (test accuracy" in capsys.readouterr().out
    assert baselines.main([*argv, "--resume"]) == 0 and len(results.load(tmp_path / "b")) == len(DESIGNS)
