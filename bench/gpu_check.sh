#!/usr/bin/env bash
# The GPU check, one command for a machine with one GPU (about 5 minutes on an H200):
#   bash bench/gpu_check.sh            # full sizes, on CUDA
#   bash bench/gpu_check.sh --smoke    # tiny sizes on whatever device there is (CI: CPU)
# Needs torch, torchvision, numpy, pillow, scikit-image and pandas; not snakemake or
# simplejpeg (the library falls back to Pillow's decoder). Prints, each measured in its own
# interleaved comparison: training images/s at 224 px with bf16 + channels_last (eager and
# torch.compile) against a bf16 matmul peak from the same run; the loader's images/s with
# workers; colorize MP/s; batched torch QSSIM images/s. PYTHON picks the interpreter
# (default: python3 on PATH).
set -euo pipefail
cd "$(dirname "$0")"
py="${PYTHON:-python3}"
if [ "${1:-}" = "--smoke" ]; then
    dev=cpu
    "$py" train_bench.py --device "$dev" --sizes 16 --batch 2 --matmul 64 128 --repeats 1
    "$py" loader_bench.py --images 64 --size 32 --batch 8 --steps 4 --workers 1 --repeats 1
    "$py" colorize_bench.py --device "$dev" --images 1 --height 48 --width 64 --size 32 --repeats 1
    "$py" qssim_bench.py --device "$dev" --pairs 1 --batch 2 --sizes 32x32 --repeats 1
else
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$py" train_bench.py --device cuda --sizes 224 --batch 256 --repeats 5
    "$py" train_bench.py --device cuda --sizes 224 --batch 256 --repeats 5 --compile
    "$py" loader_bench.py --images 16384 --per-shard 4096 --batch 256 --steps 48 --workers 8
    "$py" colorize_bench.py --device cuda --images 16 --repeats 5
    "$py" qssim_bench.py --device cuda --pairs 4 --batch 128 --sizes 224x224 --repeats 5
fi
