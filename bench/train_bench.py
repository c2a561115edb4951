"""Benchmark: training throughput and achieved FLOP/s vs this machine's measured matmul FLOP/s.

    python bench/train_bench.py                      # CPU: 224 px and the demo's 64 px
    python bench/train_bench.py --device cuda        # GPU: bf16 autocast + channels_last

One run measures, side by side: (1) the peak the machine reaches on a large matmul (float32 on
CPU, bf16 on CUDA), and (2) full training steps of the paper's network (frozen VGG-16
hypercolumn + trained head, SGD) at each size, counting the step's FLOPs with
``torch.utils.flop_counter``. It prints images/s, achieved TFLOP/s and the fraction of the
matmul peak. GPU memory (peak allocated) is printed on CUDA.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from colorcnn.model import HeadConfig, build_model  # noqa: E402
from colorcnn.train import loss_fn  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, dtype, n=4096, reps=10) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = min(best, (time.perf_counter() - t0) / reps)
    return 2 * n**3 / best


def train_step_fn(model, opt, device, bf16: bool):
    def step(y, target):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(y)
        loss = loss_fn("bce", logits.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def bench_size(size, batch, device, bf16, channels_last, steps):
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = build_model(HeadConfig(), "random").to(device)
    mem = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=mem)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.08, momentum=0.9)
    y = (torch.rand(batch, 1, size, size, device=device) * 255).contiguous(memory_format=mem)
    target = torch.rand(batch, 2, size, size, device=device)
    step = train_step_fn(model, opt, device, bf16)
    with FlopCounterMode(display=False) as fc:
        step(y, target)
    flops = fc.get_total_flops()
    for _ in range(2):
        step(y, target)  # warm-up (cudnn autotune, allocator)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(y, target)
    sync(device)
    dt = (time.perf_counter() - t0) / steps
    mem_gb = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    return batch / dt, flops / dt, flops / batch, mem_gb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 64])
    ap.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=None,
        help="batch per size (default: CPU 4/16, CUDA 64/256)",
    )
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--no-channels-last", action="store_true")
    a = ap.parse_args(argv)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    bf16 = cuda and not a.no_bf16
    cl = cuda and not a.no_channels_last
    dtype = torch.bfloat16 if bf16 else torch.float32
    peak = matmul_peak(device, dtype, n=8192 if cuda else 2048)
    batches = a.batch or ([64, 256] if cuda else [4, 16])
    steps = a.steps or (20 if cuda else 3)
    name = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; bf16={bf16} channels_last={cl}")
    print(f"measured {dtype} matmul peak: {peak / 1e12:.2f} TFLOP/s")
    print(
        f"{'size':>5} {'batch':>5} {'img/s':>9} {'GFLOP/img':>10} {'TFLOP/s':>8} "
        f"{'of peak':>8} {'mem GiB':>8}"
    )
    for size, batch in zip(a.sizes, batches, strict=False):
        ips, fps, fpi, mem = bench_size(size, batch, device, bf16, cl, steps)
        print(
            f"{size:5d} {batch:5d} {ips:9.2f} {fpi / 1e9:10.1f} {fps / 1e12:8.3f} "
            f"{fps / peak:8.1%} {mem:8.2f}"
        )


if __name__ == "__main__":
    main()
