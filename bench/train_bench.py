"""Benchmark: training throughput and its fraction of this machine's matrix-multiply peak.

    python bench/train_bench.py                       # CPU: 224 px and 64 px
    python bench/train_bench.py --device cuda         # GPU: bf16 autocast + channels_last
    python bench/train_bench.py --device cuda --compile

In one run, interleaved with the training steps: the peak, the best rate of square matmuls of
several sizes (float32 on CPU, bf16 on CUDA), and full SGD steps of the paper's network
(frozen VGG-16 hypercolumn + trained head) at each size, their FLOPs counted by
``torch.utils.flop_counter``. Prints images/s, achieved TFLOP/s and the fraction of the peak.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from _common import compare, header

from colorcnn.config import HeadConfig
from colorcnn.model import ColorizationNet


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul(device, dtype, n):
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)

    def run():
        for _ in range(4):
            a @ b
        sync(device)

    return run, 4 * 2 * n**3


def train_step(size, batch, device, bf16, channels_last, compile_):
    from torchvision.models import vgg16

    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = ColorizationNet(vgg16(weights=None).features, HeadConfig()).to(
        device, memory_format=fmt
    )
    net = torch.compile(model) if compile_ else model
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.08, momentum=0.9)
    y = (torch.rand(batch, 1, size, size, device=device) * 255).contiguous(memory_format=fmt)
    target = torch.rand(batch, 2, size, size, device=device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = net(y)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync(device)

    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        step()
    return step, fc.get_total_flops()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 64])
    ap.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=None,
        help="batch per size (default: CPU 4 and 16, CUDA 128 and 512)",
    )
    ap.add_argument("--matmul", type=int, nargs="+", default=None, help="matmul sizes")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="torch.compile the network")
    a = ap.parse_args(argv)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    dtype = torch.bfloat16 if cuda else torch.float32
    header(f"training, {device.type}{' (bf16, channels_last)' if cuda else ''}")
    if cuda:
        print(f"# {torch.cuda.get_device_name()}")
    sides, work = {}, {}
    for n in a.matmul or ([4096, 8192, 16384] if cuda else [1024, 2048, 4096]):
        sides[f"matmul {n}"], work[f"matmul {n}"] = matmul(device, dtype, n)
    batches = a.batch or ([128, 512] if cuda else [4, 16])
    for size, batch in zip(a.sizes, batches, strict=False):
        name = f"train {size} px x{batch}"
        sides[name], work[name] = train_step(size, batch, device, cuda, cuda, a.compile)
    t = compare(sides, repeats=a.repeats, work=work)
    peak = max(v.rate for k, v in t.items() if k.startswith("matmul"))
    print(f"{'':22}{'median':>10} {'spread':>20} {'TFLOP/s':>9} {'of peak':>8} {'images/s':>9}")
    for name, v in t.items():
        imgs = ""
        if name.startswith("train"):
            imgs = f"{int(name.rsplit('x', 1)[1]) / v.median:9.1f}"
        print(
            f"{name:22}{v.median * 1e3:8.1f} ms {v.spread():>20} {v.rate / 1e12:9.3f} "
            f"{v.rate / peak:8.1%} {imgs}"
        )
    if cuda:
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
