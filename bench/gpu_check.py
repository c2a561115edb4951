"""The GPU check: what training, colorizing and scoring reach on this machine, measured
through the workflow's own code (not a stand-in for it).

    python bench/gpu_check.py                  # CUDA, full sizes (minutes on one H200)
    python bench/gpu_check.py --smoke          # tiny sizes on the CPU: the same code (CI)

(a) training: the real ``train.start`` / ``train.fit`` loop, reading shards from disk through
    the project's loader with training's settings (the paper's batch 32, pinned memory on
    CUDA, ``train.threads - 1`` loader workers, bf16 autocast, channels_last), eager and with
    ``train.compile``; images/s, and the fraction of a bf16 matmul peak measured in the same
    interleaved rounds (the network's FLOPs per image counted by ``torch.utils.flop_counter``);
(b) the loader alone, at the training batch size, with the same workers;
(c) colorize: ``colorize_files`` on gray JPEGs (decode, network, recombination, PNG, with its
    I/O threads), eager and compiled, in megapixels/s;
(d) QSSIM: ``metrics_torch.qssim_torch`` on batches at 224x224, images/s.

Every side runs once to warm up (compilation included), then in interleaved rounds
(bench/_common.compare): medians with the spread. Needs torch, torchvision, numpy, pillow,
scikit-image and pandas (not snakemake, not simplejpeg). Writes every figure to ``--out``
(JSON) beside printing them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from _common import compare, header
from colorize_bench import random_ours, write_gray_jpegs
from loader_bench import make_shards
from train_bench import matmul

from colorcnn import train as T
from colorcnn.backbone import BackbonePlan, resolve_backbone
from colorcnn.colorize import Colorizer, collect_inputs, colorize_files
from colorcnn.config import HeadConfig, TrainConfig
from colorcnn.loader import Gatherer, ShardRows, TrainBatches, batch_loader
from colorcnn.metrics_torch import qssim_torch
from colorcnn.model import ColorizationNet, loss_fn
from colorcnn.testimages import natural_rgb

CL = torch.channels_last
FULL = dict(
    images=8192, size=224, batch=32, threads=10, matmul=[8192, 16384], colorize_images=64,
    height=768, width=1024, colorize_batch=32, qssim_batch=128, qssim_size=224, repeats=5,
    bf16=True,
)  # fmt: skip
SMOKE = dict(
    images=32, size=32, batch=4, threads=2, matmul=[64], colorize_images=2, height=48,
    width=64, colorize_batch=2, qssim_batch=2, qssim_size=32, repeats=1, bf16=True,
)  # fmt: skip


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def versions(device: torch.device) -> dict:
    v = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "cuda_build": torch.version.cuda,
        "device": device.type,
    }
    if device.type == "cuda":
        v["gpu"] = torch.cuda.get_device_name(device)
        v["cudnn"] = torch.backends.cudnn.version()
        v["gpu_memory_gib"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30)
        try:
            q = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
            v["driver"] = subprocess.run(q, capture_output=True, text=True).stdout.strip()
        except OSError:
            v["driver"] = "?"
    return v


# --- (a) training and (b) the loader --------------------------------------------------------------


def training_job(d: Path, shards, backbone: Path, cfg: TrainConfig, n: int) -> T.Job:
    y, uv, index = shards
    return T.Job(
        y=y, uv=uv, index=index, backbone=str(backbone), backbone_description="random",
        model=str(d / "model.pt"), metrics=str(d / "metrics.tsv"), summary=str(d / "s.json"),
        checkpoint_dir=str(d / "ckpt"), head=HeadConfig(), train=cfg, n_train_rows=n,
    )  # fmt: skip


def one_more_epoch(s: T.Session) -> None:
    """``fit`` over one more epoch of the session's shards: the loader started, every step
    run, the metrics written, as in a training job."""
    s.job = replace(s.job, train=replace(s.cfg, epochs=s.cfg.epochs + 1))
    T.fit(s)


def flops_per_image(size: int, device: torch.device) -> float:
    """Forward and backward of the paper's network on one image at ``size`` px."""
    from torch.utils.flop_counter import FlopCounterMode
    from torchvision.models import vgg16

    net = ColorizationNet(vgg16(weights=None).features, HeadConfig()).to("meta")
    y = torch.zeros(1, 1, size, size, device="meta")
    with FlopCounterMode(display=False) as fc:
        loss_fn("bce", net(y), torch.zeros(1, 2, size, size, device="meta")).backward()
    return float(fc.get_total_flops())


def training(tmp: Path, p: dict, device: torch.device) -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    header(f"(a) training through train.fit and (b) the loader, {device.type}")
    files = make_shards(tmp / "shards", p["images"], p["size"], per_shard=2048)
    shards = tuple([str(getattr(f, k)) for f in files] for k in ("Y", "UV", "index"))
    backbone = tmp / "backbone.pt"
    resolve_backbone(BackbonePlan("random", ""), backbone, tmp / "backbone.json")
    base = TrainConfig(
        batch_size=p["batch"], epochs=1, log_every=50, val_every=0, checkpoint_every=10**9,
        progress=False, device="cuda" if device.type == "cuda" else "cpu", bf16=p["bf16"],
        channels_last=True,
    )  # fmt: skip
    workers = base.workers_for(p["threads"])
    base = replace(base, loader_workers=workers)
    sessions = {}
    for name, compiled in (("fit, eager", False), ("fit, compiled", True)):
        cfg = replace(base, compile=compiled)
        job = training_job(tmp / name.replace(", ", "-"), shards, backbone, cfg, p["images"])
        sessions[name] = T.start(job)
    rows = ShardRows.from_index(shards[0], shards[2], p["images"])
    steps = len(rows.train) // p["batch"]
    gatherer = Gatherer(shards[0], shards[1])

    def loader_alone():
        batches = TrainBatches(gatherer, rows.train, p["batch"], 0, 0, steps)
        for _ in batch_loader(batches, workers, device.type == "cuda"):
            pass

    sides = {name: (lambda s=s: one_more_epoch(s)) for name, s in sessions.items()}
    sides["loader alone"] = loader_alone
    work = dict.fromkeys(sides, steps * p["batch"])
    for n in p["matmul"]:
        sides[f"bf16 matmul {n}"], work[f"bf16 matmul {n}"] = matmul(device, torch.bfloat16, n)
    t = compare(sides, repeats=p["repeats"], work=work)
    peak = max(v.rate for k, v in t.items() if "matmul" in k)
    per_image = flops_per_image(p["size"], device)
    print(
        f"# {p['images']} images at {p['size']} px in shards on disk, batch {p['batch']}, "
        f"{workers} loader workers, pinned memory {device.type == 'cuda'}, bf16 {p['bf16']}, "
        "channels_last"
    )
    print(f"# network: {per_image / 1e9:.1f} GFLOP per image (forward + backward)")
    print(f"{'':22}{'median':>10} {'spread':>22} {'images/s':>10} {'TFLOP/s':>8} {'of peak':>8}")
    out = {"bf16_peak_tflops": peak / 1e12, "gflop_per_image": per_image / 1e9}
    for name, v in t.items():
        if "matmul" in name:
            print(f"{name:22}{v.median * 1e3:8.1f} ms {v.spread():>22} {'':>10} "
                  f"{v.rate / 1e12:8.1f}")  # fmt: skip
            continue
        flops = v.rate * per_image if name.startswith("fit") else float("nan")
        print(
            f"{name:22}{v.median * 1e3:8.1f} ms {v.spread():>22} {v.rate:10.1f} "
            f"{flops / 1e12:8.1f} {flops / peak:8.1%}"
        )
        out[name] = {"images_per_s": v.rate, "fraction_of_peak": flops / peak}
    if device.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    return out


# --- (c) colorize and (d) QSSIM ------------------------------------------------------------------


def colorize(tmp: Path, p: dict, device: torch.device) -> dict:
    header(f"(c) colorize: decode, network, recombination, PNG ({device.type})")
    src = tmp / "gray"
    write_gray_jpegs(src, p["colorize_images"], p["height"], p["width"])
    pairs = collect_inputs([src])
    model = random_ours()
    bf16 = p["bf16"]  # as on a GPU (the smoke run too: the same code paths)
    cols = {
        "colorize, eager": Colorizer(model, p["size"], device, bf16=bf16),
        "colorize, compiled": Colorizer(model, p["size"], device, bf16=bf16, compile=True),
    }
    runs = iter(range(10**6))

    def run(col):
        res = colorize_files(
            col, pairs, tmp / f"out{next(runs)}", batch_size=p["colorize_batch"], progress=False
        )
        if res["failed"]:
            raise RuntimeError(f"colorize failed: {res['failed'][:3]}")

    mp = p["colorize_images"] * p["height"] * p["width"] / 1e6
    t = compare({k: (lambda c=c: run(c)) for k, c in cols.items()}, repeats=p["repeats"], work=mp)
    print(
        f"# {p['colorize_images']} gray JPEGs {p['width']}x{p['height']}, network at "
        f"{p['size']} px, batch {p['colorize_batch']}, bf16 {bf16}, PNG level 1"
    )
    out = {}
    for name, v in t.items():
        print(f"{name:22}{v.median * 1e3:8.1f} ms {v.spread():>22} {v.rate:8.1f} MP/s")
        out[name] = {"megapixels_per_s": v.rate}
    return out


def qssim(p: dict, device: torch.device) -> dict:
    header(f"(d) batched QSSIM at {p['qssim_size']}x{p['qssim_size']} ({device.type})")
    n, s = p["qssim_batch"], p["qssim_size"]
    imgs = np.stack([natural_rgb(s, s, k) for k in range(2 * n)])
    x = torch.from_numpy(imgs[:n]).permute(0, 3, 1, 2).contiguous().to(device)
    y = torch.from_numpy(imgs[n:]).permute(0, 3, 1, 2).contiguous().to(device)

    def run():
        r = qssim_torch(x, y)
        return r.cpu()

    t = compare({f"QSSIM, batch {n}": run}, repeats=p["repeats"], work=n)
    [(name, v)] = t.items()
    print(f"{name:22}{v.median * 1e3:8.1f} ms {v.spread():>22} {v.rate:8.1f} images/s")
    return {name: {"images_per_s": v.rate}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (CI)")
    ap.add_argument("--out", default="gpu_check.json", help="where the figures go (JSON)")
    a = ap.parse_args(argv)
    p = SMOKE if a.smoke else FULL
    device = torch.device("cpu" if a.smoke else "cuda")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
    figures = {"versions": versions(device), "settings": p}
    print(json.dumps(figures["versions"]))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        figures["training"] = training(Path(d), p, device)
        figures["colorize"] = colorize(Path(d), p, device)
    figures["qssim"] = qssim(p, device)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    Path(a.out).write_text(json.dumps(figures, indent=1))
    print(f"# {figures['seconds']} s; figures written to {a.out}")
    return figures


if __name__ == "__main__":
    main()
