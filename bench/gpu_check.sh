#!/usr/bin/env bash
# The GPU check, one command for a machine with one GPU (bench/gpu_check.py says what it
# measures; its figures go to gpu_check.json in the current folder, or OUT):
#   bash bench/gpu_check.sh            # full sizes, on CUDA
#   bash bench/gpu_check.sh --smoke    # tiny sizes on the CPU, the same code paths (CI)
# Needs torch, torchvision, numpy, pillow, scikit-image and pandas; not snakemake or
# simplejpeg (the library falls back to Pillow's decoder). PYTHON picks the interpreter
# (default: python3 on PATH).
set -euo pipefail
out="$(realpath -m "${OUT:-gpu_check.json}")"
cd "$(dirname "$0")"
py="${PYTHON:-python3}"
if [ "${1:-}" != "--smoke" ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
fi
"$py" gpu_check.py "$@" --out "$out"
