"""Services on loopback for the cluster tests and bench/cluster_scaling.py: Ray nodes started with
``ray start ... --block`` (each in its own process group, so stopping it stops all it started)
and a throw-away PostgreSQL server from Debian's package in a temporary data directory."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REQUIRE_ENV = "SEARCH_REQUIRE_SERVICES"  # set by .ci/run: a missing service fails instead of skipping


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_executable() -> str:
    return str(Path(sys.executable).with_name("ray"))


def _stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # `ray start --block` then stops what it started
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for_nodes(address: str, count: int, timeout: float = 90) -> None:
    """Until ``count`` nodes of the cluster at ``address`` are alive (checked from a subprocess:
    this process may already hold another Ray instance)."""
    code = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "print(sum(n['Alive'] for n in ray.nodes()))")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run([sys.executable, "-c", code, address], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(count)]:
            return
        time.sleep(1)
    raise TimeoutError(f"{count} Ray node(s) at {address} not alive after {timeout:.0f} s")


@contextmanager
def ray_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[str]:
    """A Ray cluster of ``nodes`` nodes on 127.0.0.1, each with its own temp dir and a custom
    resource ``node<i>``; yields its address (HOST:PORT)."""
    root = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))  # short: Ray's socket paths are limited
    port, procs = free_port(), []
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus_per_node), "--disable-usage-stats", "--block"]
    try:
        for i in range(nodes):
            where = ["--head", "--port", str(port), "--include-dashboard", "false"] if i == 0 else ["--address", address]
            cmd = [ray_executable(), "start", *where, *common, "--temp-dir", str(root / f"n{i}"),
                   "--resources", json.dumps({f"node{i}": 1})]
            log = open(root / f"start-{i}.log", "w")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            if i == 0:
                wait_for_nodes(address, 1)
        wait_for_nodes(address, nodes)
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def postgres_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 with a database ``search``; yields its URL. As root it
    runs as the ``postgres`` user (initdb refuses root)."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
    if as_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off"
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
        _create_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", "search")
        yield f"postgresql://postgres@127.0.0.1:{port}/search"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _create_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:  # CREATE DATABASE cannot run in a transaction
        connection.execute(f"CREATE DATABASE {name}")
