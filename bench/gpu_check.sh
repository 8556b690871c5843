#!/usr/bin/env bash
# Issue 15's GPU check, one command of at most ${GPU_CHECK_DEADLINE:-420} seconds on one GPU. Steps
# in order of what matters most, each with its own limit, all within that deadline (a step that
# would start too late is skipped, and says so); the check goes on when one fails:
#   1. the GPU tests: a training epoch under torch.cuda.set_sync_debug_mode("error"), graph
#      against eager losses, complexity; then apart, the eager fallback of a step that cannot be captured;
#   2. the step table: Trainer, plain eager loop, CUDA-graphed step;
#   3. the 16-trial CIFAR-10 study with default GPU settings: wall, first result, NVML kernel share;
#   4. 1, 2 and 4 trials sharing the GPU: total images/s;
#   5. torch.compile(mode="reduce-overhead") on two nets, against the graph of step 2.
# Everything printed also goes to ${OUT:-/tmp}/gpu_check/gpu_check.log; beside it study.json and
# the study's trials.csv and epochs.csv (four files, one folder down: what the device tool brings back).
# On a host without Ray or Optuna it unpacks bench/bundle/gpu-bundle.tar.xz (bench/gpu_bundle.sh
# builds it), drops what the host already has (bench/bundle_prune.py) and runs from it with
# PYTHONPATH. CIFAR-10 comes from bench/bundle/cifar10*.tar.gz or ../shared/data/cifar10-jpg.tar.gz.
# Try it on a CPU with GPU_CHECK_QUICK=1 (tiny settings). GPU_CHECK_STEPS=tests,cache,study runs
# only those steps (a rerun of what failed, within what device time is left; the study's figures
# assume the image cache that the cache step builds).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-/tmp}/gpu_check
WORK=${GPU_CHECK_WORK:-/tmp/gpu-check-work}
DEADLINE=${GPU_CHECK_DEADLINE:-420}
mkdir -p "$OUT_DIR" "$WORK"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
TEE=$!
trap 'exec >&- 2>&-; wait "$TEE"' EXIT  # the log is whole before the command returns, whatever the exit
export PYTHONUNBUFFERED=1  # a step killed at its limit keeps what it printed
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import ray, optuna" 2>/dev/null; then  # an offline GPU host: what it lacks, from the bundle
    [ -f bench/bundle/gpu-bundle.tar.xz ] || { echo "no Ray/Optuna and no bench/bundle/gpu-bundle.tar.xz"; exit 2; }
    rm -rf "$WORK/bundle" && mkdir -p "$WORK/bundle" && tar -xJf bench/bundle/gpu-bundle.tar.xz -C "$WORK/bundle"
    "$PY" bench/bundle_prune.py "$WORK/bundle/site"
    export PYTHONPATH="$PWD:$WORK/bundle/site"
fi
step() {  # step NAME SECONDS COMMAND...: run within its limit and the deadline, go on if it fails
    local name=$1 limit=$2; shift 2
    [[ -n "${GPU_CHECK_STEPS:-}" && ",$GPU_CHECK_STEPS," != *",$name,"* ]] && return  # a rerun of some steps
    local left=$((DEADLINE - SECONDS))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 15 ]; then echo "== $name: skipped, ${left}s left of the ${DEADLINE}s deadline"; return; fi
    local start=$SECONDS
    echo "== $name (limit ${limit}s, at ${start}s)"
    # timeout signals its whole process group: the study's driver with it, and Ray's daemons die with
    # their driver (kernel fate-sharing). SIGTERM lets Ray shut down; SIGKILL 10 s later if it does not.
    # (Not `ray stop --force`: it would end every Ray on the host, other users' too.)
    timeout -k 10 "$limit" "$@"
    local code=$?
    echo "== $name: exit $code after $((SECONDS - start))s"
    if [ "$code" = 124 ] || [ "$code" = 137 ]; then  # cut off: orphaned Ray workers notice within ~20 s
        for _ in $(seq 20); do pgrep -f "ray::" >/dev/null || break; sleep 1; done
    fi
}
CIFAR=$(ls bench/bundle/cifar10*.tar.gz ../shared/data/cifar10-jpg.tar.gz 2>/dev/null | head -1)
if [ -n "$CIFAR" ] && [ ! -d "$WORK/cifar/cifar10/train" ]; then
    mkdir -p "$WORK/cifar" && tar -xzf "$CIFAR" -C "$WORK/cifar"
fi
echo "== ready at ${SECONDS}s (bundle and CIFAR-10 unpacked)"
DATA="imagefolder:$WORK/cifar/cifar10"
if [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then  # a smoke run of the script itself, e.g. on a CPU
    STEP_ARGS=(--batch 32 --steps 3 --nets resnext_digits); COMPILE_NETS=resnext_digits
    STUDY=(--dataset digits --trials 2 --epochs 2); SHARE=(--concurrency 1,2 --trials 2 --epochs 1)
else
    export REQUIRE_CUDA=1  # the CUDA tests fail, not skip, if torch cannot reach the GPU
    STEP_ARGS=(); COMPILE_NETS=resnet18_small,searched_c32
    STUDY=(--dataset "$DATA" --data-dir "$WORK/data" --budget-mmacs 50 --epochs 10 --trials 16 --batch-size 256
           --lr 0.2 --cpus-per-trial 3)
    SHARE=(--concurrency 1,2,4 --trials 4 --epochs 2 -- --dataset "$DATA" --data-dir "$WORK/data"
           --budget-mmacs 50 --batch-size 256 --lr 0.2)
fi
step device 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step torch 30 "$PY" -c "import torch, ray, optuna; print(torch.__version__, ray.__version__, optuna.__version__, torch.cuda.is_available())"
# the failed-capture test in a process of its own: torch builds without pytorch#180395 (2.11, it seems) leave the
# allocator believing a capture is under way, which can fail later captures or abort the process
PYTEST=("$PY" -m pytest -q -rs -p no:cacheprovider)
step tests 60 "${PYTEST[@]}" -k "not cannot_be_captured" tests/training/test_step.py tests/blocks/test_complexity.py
step tests-fallback 40 "${PYTEST[@]}" -k cannot_be_captured tests/training/test_step.py
step step-table 75 "$PY" bench/gpu_step.py "${STEP_ARGS[@]}"
[ "${GPU_CHECK_QUICK:-0}" = 1 ] || step cache 45 "$PY" -c "from search.data.datasets import DataSpec, load; import time; t = time.time(); \
s = load(DataSpec('$DATA', '$WORK/data')); print(s.train_x.shape, f'{time.time() - t:.1f}s (the study below finds this cache)')"
rm -rf "$WORK/results" "$WORK/sharing"  # a rerun on the same host starts these studies afresh
step study 120 "$PY" bench/gpu_study.py --json "$OUT_DIR/study.json" -- "${STUDY[@]}" --results-dir "$WORK/results"
step sharing 100 "$PY" bench/gpu_sharing.py --results-dir "$WORK/sharing" "${SHARE[@]}"
step step-compile 60 "$PY" bench/gpu_step.py --compile --nets "$COMPILE_NETS" "${STEP_ARGS[@]}"
for table in trials epochs; do  # the study's tables, one folder down (deeper ones do not come back)
    found=$(ls "$WORK"/results/*/$table.csv 2>/dev/null | head -1)
    [ -n "$found" ] && cp "$found" "$OUT_DIR/$table.csv"
done
echo "== done at ${SECONDS}s; figures in $OUT_DIR: $(ls "$OUT_DIR" | tr '\n' ' ')"
