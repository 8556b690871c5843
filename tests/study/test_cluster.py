"""Scale-out for real, on loopback: a study on a two-node Ray cluster (``ray start``), and a
study kept in a PostgreSQL server, resumed from another results folder (another machine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import sqlalchemy

from loopback import REQUIRE_ENV, postgres, postgres_bin, ray_cluster
from search import results
from search.run import main

pytestmark = pytest.mark.cluster
ROOT = Path(__file__).resolve().parents[2]
TINY = ["--space", "resnext", "--dataset", "digits", "--budget-mmacs", "0.4", "--seed", "1", "--epochs", "2"]


def missing(what: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{what} ({REQUIRE_ENV} is set: CI must run this test)")
    pytest.skip(what)


def test_a_study_spreads_over_a_two_node_cluster(ray_env, tmp_path):
    shared = tmp_path / "shared"  # as a shared filesystem that every node mounts
    argv = TINY + ["--trials", "4", "--scheduler", "fifo", "--max-concurrent", "2", "--cpus-per-trial", "1",
                   "--results-dir", str(tmp_path / "results"), "--name", "cluster", "--storage-path", str(shared)]
    env = {**os.environ, **ray_env, "PYTHONPATH": str(ROOT)}
    with ray_cluster(nodes=2, cpus_per_node=1) as address:
        done = subprocess.run([sys.executable, "-m", "search.run", *argv, "--address", address], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    df = results.load(tmp_path / "results" / "cluster")  # the table is on the driver's side
    assert len(df) == 4 and (df["state"] == "COMPLETE").all()
    assert df["node"].nunique() == 2, "the trials ran on one node only"
    assert df["worker_pid"].nunique() >= 2
    checkpoints = sorted(p.parent.name for p in (shared / "cluster" / "trials").glob("*/checkpoint.pt"))
    assert checkpoints == [f"{n:05d}" for n in range(4)]  # under --storage-path, not the study folder
    assert not (tmp_path / "results" / "cluster" / "trials").exists()
    assert any((shared / "cluster" / "ray").iterdir())  # Ray's experiment state too


@pytest.fixture(scope="module")
def postgres_url():
    if postgres_bin("pg_ctl") is None:
        missing("PostgreSQL is not installed (.ci/run installs Debian's package)")
    with postgres() as url:
        yield url


def test_a_study_in_postgresql_resumes_from_another_results_folder(ray_session, postgres_url, tmp_path):
    argv = TINY + ["--storage", postgres_url, "--name", "pg", "--max-concurrent", "1"]
    assert main(argv + ["--trials", "3", "--results-dir", str(tmp_path / "here")]) == 0
    first = results.load(tmp_path / "here" / "pg")
    # Another machine: no study folder, only the database. Resume from it with more trials.
    assert main(["--storage", postgres_url, "--name", "pg", "--resume", "--trials", "5",
                 "--results-dir", str(tmp_path / "there")]) == 0
    later = results.load(tmp_path / "there" / "pg")
    assert list(later["trial"]) == [0, 1, 2, 3, 4] and later["state"].isin(["COMPLETE", "PRUNED"]).all()
    kept = later.set_index("trial").loc[first["trial"], ["state", "accuracy", "arch", "datetime_complete"]]
    pd_first = first.set_index("trial")[["state", "accuracy", "arch", "datetime_complete"]]
    assert kept.equals(pd_first), "a finished trial changed on resume"
    study = optuna.load_study(study_name="pg", storage=postgres_url)
    assert len(study.trials) == 5 and study.user_attrs["space"] == "resnext_v4"
    assert "postgres@" not in study.user_attrs["config"]  # the storage URL is not copied into the database
    with sqlalchemy.create_engine(postgres_url).connect() as db:
        rows = db.execute(sqlalchemy.text("SELECT state, count(*) FROM trials GROUP BY state")).all()
    assert sum(n for _, n in rows) == 5 and {s for s, _ in rows} <= {"COMPLETE", "PRUNED"}
