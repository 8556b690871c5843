"""The fault-injection script in its reduced form: kills at three kinds of moment, a corrupt
checkpoint, a concurrent driver, two racing drivers, Ctrl-C, a deleted and an emptied Optuna
database before a resume, and trials that raise, diverge and run out of memory.
The full form is `python bench/fault_injection.py` (10 kills)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "fault_injection.py"


def load_script():
    spec = importlib.util.spec_from_file_location("fault_injection", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_faults_lose_nothing_and_rerun_nothing(ray_env, tmp_path):
    fi = load_script()
    report = fi.run(kills=3, trials=8, epochs=3, seed=1, workdir=tmp_path, log=print)
    assert report["kills"] >= 2 and report["concurrent_refused"] and report["ctrl_c_exit"] == 130
    assert report["racing_refused"] and report["deleted_database_refused"] and report["emptied_database_refused"]
    assert set(report["faults"]) == {"exception", "nan", "oom"}
    assert sum(report["states"].values()) == 8
    if report["corrupted_trial"] is not None:
        assert report["corrupted_trial_restarted_at_epoch"] == 1
