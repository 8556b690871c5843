#!/usr/bin/env bash
# The GPU check, in one call of at most 8 minutes: correctness on the GPU (complexity equalities,
# a tiny study with two trials sharing the GPU), then the GPU figures of benchmarks 1-3 and the
# sharing benchmark. Needs the project installed (README's setup); figures go to stdout and to
# ${OUT:-/tmp}/gpu_check/*.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT:-/tmp}/gpu_check
mkdir -p "$OUT_DIR"
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output, go on if it fails
    local name=$1 limit=$2; shift 2
    echo "== $name (limit ${limit}s)"
    timeout "$limit" "$@" 2>&1 | tee "$OUT_DIR/$name.txt" | tail -25
    echo "== $name: exit ${PIPESTATUS[0]}"
}
step device 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step torch 30 "$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name())"
step complexity 60 "$PY" -m pytest -q -x tests/test_complexity.py
step study 90 "$PY" -m search.run --name gpu-check --results-dir "$OUT_DIR/results" --trials 4 --epochs 2 \
    --gpus-per-trial 0.5 --max-concurrent 2
step bench1-2 100 "$PY" bench/trainer_vs_textbook.py --device cuda --epochs 2 --workers 2 --compile
step bench3 90 "$PY" bench/study_overhead.py -- --gpus-per-trial 0.5
step sharing 90 "$PY" bench/gpu_sharing.py --trials 4 --epochs 2
