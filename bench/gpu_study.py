"""A whole study from launch to exit, as a user starts it: wall time, time to the first trial
result, and (on a GPU) the share of time a kernel was running, sampled through NVML.

    python bench/gpu_study.py [--interval 0.25] [--json FILE] -- SEARCH.RUN FLAGS

The study runs as ``python -m search.run FLAGS`` in a child process; its progress lines are read
as they come (the first one with a best accuracy marks the first result, see search/study/progress.py).
NVML's utilization.gpu is the share of its last sample period in which a kernel ran on the GPU:
the mean of the samples from launch to exit is the "kernel-running share" of issue 15. It says
nothing of how well those kernels use the card (bench/gpu_step.py does).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class Sampler(threading.Thread):
    """NVML utilization of GPU 0 every ``interval`` seconds until stopped (none without NVML)."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval, self.samples, self.done = interval, [], threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self.read = lambda h=pynvml.nvmlDeviceGetHandleByIndex(0): pynvml.nvmlDeviceGetUtilizationRates(h).gpu
        except Exception as err:  # no NVML (no GPU, or nvidia-ml-py missing): wall times only
            print(f"gpu_study: no NVML ({type(err).__name__}): no kernel-running share", file=sys.stderr)
            self.read = None

    def run(self) -> None:
        while self.read is not None and not self.done.wait(self.interval):
            self.samples.append((time.perf_counter(), self.read()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--interval", type=float, default=0.25, help="seconds between NVML samples")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("flags", nargs="*", help="search.run flags, after --")
    args = p.parse_args()
    sampler = Sampler(args.interval)
    start = time.perf_counter()
    sampler.start()
    child = subprocess.Popen([sys.executable, "-m", "search.run", *args.flags], cwd=REPO, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first, tail = None, []
    for line in child.stdout:
        now = time.perf_counter() - start
        if first is None and "best accuracy" in line and not line.rstrip().endswith("best accuracy -"):
            first = now
        tail = (tail + [f"[{now:6.1f}s] {line.rstrip()}"])[-30:]
        print(tail[-1], flush=True)
    code = child.wait()
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    shares = [u for _, u in sampler.samples]
    figures = {"exit": code, "wall_s": round(wall, 1), "first_result_s": None if first is None else round(first, 1),
               "kernel_running_share": round(sum(shares) / len(shares) / 100, 3) if shares else None,
               "samples": len(shares), "flags": " ".join(args.flags)}
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps({**figures, "utilization": sampler.samples}))
    sys.exit(code)


if __name__ == "__main__":
    main()
