#!/usr/bin/env bash
# Issue 15's GPU check, one command of about 6 minutes on one GPU (each step has its own limit
# and the check goes on when one fails). Figures go to stdout and to ${OUT:-/tmp}/gpu_check/.
#   1. the GPU tests: a training epoch under torch.cuda.set_sync_debug_mode("error"), graph
#      against eager losses, and the complexity equalities;
#   2. the step table: Trainer, plain eager loop, CUDA-graphed step (and torch.compile on two nets);
#   3. the 16-trial CIFAR-10 study with default GPU settings: wall, first result, NVML kernel share;
#   4. 1, 2 and 4 trials sharing the GPU: total images/s.
# On a host without Ray or Optuna it unpacks bench/bundle/gpu-bundle.tar.xz (bench/gpu_bundle.sh
# builds it) and runs from it with PYTHONPATH; CIFAR-10 comes from bench/bundle/cifar10*.tar.gz
# or ../shared/data/cifar10-jpg.tar.gz. Try it on a CPU with GPU_CHECK_QUICK=1 (tiny settings).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-/tmp}/gpu_check
WORK=${GPU_CHECK_WORK:-/tmp/gpu-check-work}
mkdir -p "$OUT_DIR" "$WORK"
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import ray, optuna" 2>/dev/null; then  # an offline GPU host: what it lacks, from the bundle
    [ -f bench/bundle/gpu-bundle.tar.xz ] || { echo "no Ray/Optuna and no bench/bundle/gpu-bundle.tar.xz"; exit 2; }
    mkdir -p "$WORK/bundle" && tar -xJf bench/bundle/gpu-bundle.tar.xz -C "$WORK/bundle"
    export PYTHONPATH="$PWD:$WORK/bundle/site"
fi
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output, go on if it fails
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    echo "== $name (limit ${limit}s)"
    timeout "$limit" "$@" 2>&1 | tee "$OUT_DIR/$name.txt" | tail -${TAIL:-25}
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start))s"
}
CIFAR=$(ls bench/bundle/cifar10*.tar.gz ../shared/data/cifar10-jpg.tar.gz 2>/dev/null | head -1)
if [ -n "$CIFAR" ] && [ ! -d "$WORK/cifar/cifar10/train" ]; then
    mkdir -p "$WORK/cifar" && tar -xzf "$CIFAR" -C "$WORK/cifar"
fi
DATA="imagefolder:$WORK/cifar/cifar10"
if [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then  # a smoke run of the script itself, e.g. on a CPU
    STEP_ARGS=(--batch 32 --steps 3 --nets resnext_digits); STUDY=(--dataset digits --trials 2 --epochs 2)
    SHARE=(--concurrency 1,2 --trials 2 --epochs 1)
else
    STEP_ARGS=(); SHARE=(--concurrency 1,2,4 --trials 4 --epochs 2 -- --dataset "$DATA" --data-dir "$WORK/data"
                         --budget-mmacs 50 --batch-size 256 --lr 0.2)
    STUDY=(--dataset "$DATA" --data-dir "$WORK/data" --budget-mmacs 50 --epochs 10 --trials 16 --batch-size 256
           --lr 0.2 --cpus-per-trial 3)
fi
step device 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step torch 30 "$PY" -c "import torch, ray, optuna; print(torch.__version__, ray.__version__, optuna.__version__, torch.cuda.is_available())"
step tests 60 "$PY" -m pytest -q -p no:cacheprovider tests/test_step.py tests/test_complexity.py
step step-table 90 "$PY" bench/gpu_step.py "${STEP_ARGS[@]}"
[ "${GPU_CHECK_QUICK:-0}" = 1 ] || step step-compile 75 "$PY" bench/gpu_step.py --compile --nets resnet18_small,searched_c32 "${STEP_ARGS[@]}"
[ "${GPU_CHECK_QUICK:-0}" = 1 ] || step cache 60 "$PY" -c "from search.data import DataSpec, load; import time; t = time.time(); \
s = load(DataSpec('$DATA', '$WORK/data')); print(s.train_x.shape, f'{time.time() - t:.1f}s (the study below finds this cache)')"
rm -rf "$WORK/results" "$WORK/sharing"  # a rerun on the same host starts these studies afresh
step study 150 "$PY" bench/gpu_study.py --json "$OUT_DIR/study.json" -- "${STUDY[@]}" --results-dir "$WORK/results"
step sharing 100 "$PY" bench/gpu_sharing.py --results-dir "$WORK/sharing" "${SHARE[@]}"
cp -r "$WORK/results" "$OUT_DIR/results" 2>/dev/null || true
