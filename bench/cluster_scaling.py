"""Scale-out on loopback: the same study on a Ray cluster of 1 node and of 2 nodes (``ray start``,
1 CPU each, as in tests/study/test_cluster.py), joined with ``--address`` and checkpointing to a
shared ``--storage-path``. Reports trials per minute and training images per second, over the
time from the first trial's start to the last one's end and over the whole command.

    python bench/cluster_scaling.py [--nodes 1,2 --trials 8 --epochs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, machine, table

sys.path.insert(0, str(REPO / "tests"))
from loopback import ray_cluster  # noqa: E402

from search import results  # noqa: E402


def run(nodes: int, args: argparse.Namespace, workdir: Path) -> dict:
    name = f"nodes-{nodes}"
    argv = ["--space", "resnext", "--dataset", "digits", "--trials", str(args.trials), "--epochs", str(args.epochs),
            "--scheduler", "fifo", "--max-concurrent", str(nodes), "--cpus-per-trial", "1", "--seed", "0",
            "--results-dir", str(workdir / "results"), "--storage-path", str(workdir / "shared"), "--name", name]
    with ray_cluster(nodes=nodes, cpus_per_node=1) as address:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "search.run", *argv, "--address", address], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: search.run exited with {done.returncode}:\n{done.stderr[-2000:]}")
    df = results.load(workdir / "results" / name)
    span = (df["datetime_complete"].max() - df["datetime_start"].min()).total_seconds()
    images = float((df["images_per_second"] * df["train_seconds"]).sum())
    return {"nodes": nodes, "CPUs": nodes, "trials": len(df), "nodes used": df["node"].nunique(),
            "command s": wall, "trials span s": span, "trials/min": 60 * len(df) / span, "images/s": images / span}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", default="1,2")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "token")  # the head turns token auth on; joining nodes and the driver must too
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    rows = [run(int(n), args, workdir) for n in args.nodes.split(",")]
    for row in rows:
        row["speed-up"] = row["images/s"] / rows[0]["images/s"]
    print(f"\n{machine()}", file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
