#!/usr/bin/env bash
# Builds bench/bundle/gpu-bundle.tar.xz for an offline GPU host that has Python 3.12 with torch,
# torchvision, numpy, pandas, pyarrow, scikit-learn, scipy, matplotlib, pillow and nvidia-ml-py but
# no Ray, no Optuna and no internet. The bundle holds what that host lacks (Ray, Optuna and their
# dependencies: cp312 manylinux x86_64 wheels, pinned by constraints.txt, unpacked into site/), for
# local Ray studies only: no dashboard, no cluster, no Serve/RLlib/LLM. Also copies
# ../shared/data/cifar10-jpg.tar.gz, when present, beside it as cifar10.tar.gz.
#
# Build, on a machine with PyPI access:  bench/gpu_bundle.sh [--out DIR] [--keep-wheels]
# Use, on the GPU host, from the repository root (bench/gpu_check.sh does this):
#   mkdir -p /tmp/gpu-bundle && tar -xJf bench/bundle/gpu-bundle.tar.xz -C /tmp/gpu-bundle
#   python3 bench/bundle_prune.py /tmp/gpu-bundle/site   # the host's own copies win where they fit
#   PYTHONPATH=/tmp/gpu-bundle/site:$PWD python3 -m search.run ...
# PY_VERSION=3.11 builds a cp311 variant: only for testing the bundle on a 3.11 machine.
set -euo pipefail
OUT='' KEEP_WHEELS=0 PYV=${PY_VERSION:-3.12}
while [ $# -gt 0 ]; do case $1 in
    --out) OUT=${2:?--out needs a folder}; shift 2 ;;
    --keep-wheels) KEEP_WHEELS=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
esac; done
[ -n "$OUT" ] && OUT=$(realpath -m "$OUT")  # --out is relative to where you are, not the repo
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/bundle} PY=${PYTHON:-.venv/bin/python}
for tool in unzip xz; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done

# An explicit list with --no-deps: resolving dependencies would pull torch, nvidia-* and numpy,
# which constraints.txt pins but the host already has. This list is the closure of
# `import ray; from ray import tune; import optuna` and search.run, less the host's packages.
PACKAGES=(ray optuna alembic Mako MarkupSafe SQLAlchemy colorlog tqdm tabulate tensorboardX
    jsonschema jsonschema-specifications referencing attrs rpds-py
    pydantic pydantic-core annotated-types typing-inspection typing_extensions
    msgpack protobuf click filelock fsspec PyYAML packaging cloudpickle
    requests urllib3 idna certifi charset-normalizer
    pytest pluggy iniconfig Pygments)  # pytest: bench/gpu_check.sh runs the GPU tests (a host with its own keeps it: bundle_prune.py)
# Ray's own heavy parts that a local ray.init + ray.tune never import: Java jars, RLlib, LLM,
# the dashboard's web client, and Serve (which needs starlette/fastapi, not bundled anyway).
PRUNE=(ray/jars ray/rllib ray/llm ray/serve ray/dashboard/client/build)

mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp -d "${OUT%/}.tmp.XXXXXX")  # beside OUT, so the final mv stays on one filesystem
trap 'rm -rf "$TMP"' EXIT

echo "== downloading ${#PACKAGES[@]} packages as cp${PYV/./} manylinux x86_64 wheels"
"$PY" -m pip download --quiet --no-deps -c constraints.txt -d "$TMP/wheels" \
    --only-binary=:all: --python-version "$PYV" --implementation cp --abi "cp${PYV/./}" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 "${PACKAGES[@]}" 2>&1 | grep -v 'is ignored' || true
[ "$(ls "$TMP/wheels" | wc -l)" -eq ${#PACKAGES[@]} ] || { echo "missing wheels" >&2; exit 1; }
NAMES=$(ls "$TMP/wheels" | cut -d- -f1,2 | tr '\n' ' ')

echo "== unpacking into site/"
# unzip, not python -m zipfile: it keeps the executable bits of gcs_server and raylet.
for w in "$TMP"/wheels/*.whl; do unzip -qo "$w" -d "$TMP/site"; done
for p in "${PRUNE[@]}"; do rm -rf "${TMP:?}/site/$p"; done
find "$TMP/site" -name __pycache__ -prune -exec rm -rf {} +
du -sh "$TMP/site" | sed 's/^/   unpacked: /'

echo "== compressing (xz -9, a few minutes)"
tar -C "$TMP" -cf - --owner=0 --group=0 --numeric-owner --sort=name site \
    | xz -9 -T0 > "$TMP/gpu-bundle.tar.xz"

mkdir -p "$OUT"
mv -f "$TMP/gpu-bundle.tar.xz" "$OUT/"
if [ "$KEEP_WHEELS" = 1 ]; then rm -rf "$OUT/wheels"; mv "$TMP/wheels" "$OUT/wheels"; fi
echo "== wrote $OUT/gpu-bundle.tar.xz ($(du -h --apparent-size "$OUT/gpu-bundle.tar.xz" | cut -f1)B): $NAMES"
DATA=../shared/data/cifar10-jpg.tar.gz
if [ -f "$DATA" ]; then
    install -m 644 "$DATA" "$OUT/cifar10.tar.gz"  # the source is read-only; a rerun overwrites
    echo "== copied $DATA -> $OUT/cifar10.tar.gz (CIFAR-10 as JPEGs, ImageFolder layout cifar10/{train,test})"
fi
