"""Where trials run: GPUs by default when there are any, concurrency that follows them, and a
request the machine cannot meet refused in one line before anything is written."""

from __future__ import annotations

import pytest

from search.study import resources
from search.config.resources import Placement, ResourceRequest
from search.study.resources import Available, describe, place
from search.run import main

CPU_BOX = Available(((2, 0),))
GPU_BOX = Available(((16, 1),), gpu_name="NVIDIA H200")
CLUSTER = Available(((16, 2), (16, 2), (16, 0)), gpu_name="H100", where="the Ray cluster at h:6379")
SPLIT = Available(((16, 0), (8, 1)), where="the Ray cluster at h:6379")  # a CPU-only head and a small GPU worker


@pytest.mark.parametrize("flags, available, expected", [
    ({}, CPU_BOX, Placement(1, 0, 2)),  # no GPU: CPUs, two at once, as before
    ({}, GPU_BOX, Placement(1, 0.25, 4)),  # a quarter of the GPU each: four at once
    ({"gpu_share": 0.5}, GPU_BOX, Placement(1, 0.5, 2)),
    ({"cpus_per_trial": 6}, GPU_BOX, Placement(6, 0.25, 2)),  # the CPUs bound it before the GPU does
    ({"gpus_per_trial": 0}, GPU_BOX, Placement(1, 0, 2)),  # CPUs asked for on a GPU machine
    ({"gpus_per_trial": 1}, CLUSTER, Placement(1, 1, 4)),
    ({}, CLUSTER, Placement(1, 0.25, 16)),
    ({"max_concurrent": 3}, GPU_BOX, Placement(1, 0.25, 3)),  # as given
    ({"cpus_per_trial": 0.5}, CPU_BOX, Placement(0.5, 0, 2)),
    ({"cpus_per_trial": 8}, SPLIT, Placement(8, 0.25, 3)),  # the GPU worker takes it
])
def test_placement(flags, available, expected):
    assert place(ResourceRequest(**flags), available) == expected


@pytest.mark.parametrize("flags, available, words", [
    ({"gpus_per_trial": 1}, CPU_BOX, "--gpus-per-trial 1: this machine has no GPU"),
    ({"gpus_per_trial": 0.5}, CPU_BOX, "leave the flag out (auto) or give 0"),
    ({"gpus_per_trial": 2}, GPU_BOX, "at most 1 GPU(s) on one node"),
    ({"gpus_per_trial": 4}, CLUSTER, "the Ray cluster at h:6379 has at most 2 GPU(s)"),
    ({"cpus_per_trial": 3}, CPU_BOX, "--cpus-per-trial 3: this machine has at most 2 CPUs"),
    ({"cpus_per_trial": 20}, CLUSTER, "at most 16 CPUs on one node"),
    ({"cpus_per_trial": 12}, SPLIT, "--cpus-per-trial 12 with 0.25 GPU(s): no node of the Ray cluster at h:6379 has both"),
])
def test_requests_that_cannot_be_met_are_refused(flags, available, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        place(ResourceRequest(**flags), available)


@pytest.mark.parametrize("available, words", [
    (CPU_BOX, "trials run on CPUs (2) of this machine: 2 at once, 1 CPU each"),
    (GPU_BOX, "trials run on 1 x NVIDIA H200 of this machine: 4 at once, 1 CPU + 0.25 GPU each"),
])
def test_the_header_says_where_trials_run(available, words):
    assert describe(place(ResourceRequest(), available), available) == words


def test_asking_for_an_absent_gpu_exits_2_at_once_writing_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(resources, "local_available", lambda: CPU_BOX)
    code = main(["--gpus-per-trial", "1", "--trials", "1", "--results-dir", str(tmp_path / "results")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "has no GPU" in err
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_this_machine_is_seen_as_it_is():
    here = resources.local_available()
    assert here.cpus >= 1 and here.node_cpus == here.cpus and here.gpus >= 0 and (here.gpu_name != "") == (here.gpus > 0)
