"""Benchmark: QSSIM vs scikit-image's SSIM on the same pairs, and colorize throughput.

    python bench/qssim_bench.py [--pairs 10]

Side by side in one run: seconds per image pair for our QSSIM (numpy, and the batched torch
version on the CPU) and for ``skimage.metrics.structural_similarity(channel_axis=-1,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)`` at 224×224 and
1024×768 (QSSIM downsamples 1024×768 by 3 as its definition says; SSIM here does not). Then
full-resolution colorization throughput (megapixels/s) of the paper's network at 224 px.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import natural_rgb  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

from colorcnn.colorize import Colorizer, collect_inputs, colorize_files  # noqa: E402
from colorcnn.metrics import qssim, qssim_torch  # noqa: E402
from colorcnn.model import HeadConfig, build_model  # noqa: E402


def per_call(fn, pairs, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for a, b in pairs:
            fn(a, b)
        best = min(best, time.perf_counter() - t0)
    return best / len(pairs)


def skimage_ssim(a, b):
    return structural_similarity(
        a,
        b,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--images", type=int, default=6, help="images for the colorize throughput")
    a = ap.parse_args(argv)
    print(f"torch threads: {torch.get_num_threads()}")
    print(
        f"{'size':>10} {'skimage SSIM':>13} {'QSSIM numpy':>12} {'ratio':>6} "
        f"{'QSSIM torch':>12} {'ratio':>6}"
    )
    for h, w in ((224, 224), (768, 1024)):
        pairs = [
            (
                natural_rgb(h, w, 2 * k).astype(np.float64),
                natural_rgb(h, w, 2 * k + 1).astype(np.float64),
            )
            for k in range(a.pairs)
        ]
        t_sk = per_call(skimage_ssim, pairs)
        t_q = per_call(qssim, pairs)
        tx = torch.from_numpy(np.stack([p[0] for p in pairs]).transpose(0, 3, 1, 2).copy())
        ty = torch.from_numpy(np.stack([p[1] for p in pairs]).transpose(0, 3, 1, 2).copy())
        t_t = per_call(lambda x, y: qssim_torch(x, y), [(tx, ty)]) / len(pairs)
        print(
            f"{f'{w}x{h}':>10} {t_sk * 1e3:10.2f} ms {t_q * 1e3:9.2f} ms {t_q / t_sk:5.2f}x "
            f"{t_t * 1e3:9.2f} ms {t_t / t_sk:5.2f}x"
        )

    torch.manual_seed(0)
    col = Colorizer(
        build_model(HeadConfig(), "random"),
        224,
        "cuda" if torch.cuda.is_available() else "cpu",
        bf16=True,
    )
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        sizes = [(1200, 1600), (768, 1024), (480, 640)]
        mp = 0.0
        for k in range(a.images):
            h, w = sizes[k % len(sizes)]
            Image.fromarray(natural_rgb(h, w, k)).save(Path(d) / f"in_{k}.jpg", quality=90)
            mp += h * w / 1e6
        pairs = collect_inputs([d])
        colorize_files(col, pairs[:2], Path(d) / "warm", batch_size=8, progress=False)
        t0 = time.perf_counter()
        colorize_files(col, pairs, Path(d) / "out", batch_size=8, progress=False)
        dt = time.perf_counter() - t0
    print(
        f"colorize ({col.device.type}, model 224 px, {a.images} images, {mp:.1f} MP at full "
        f"resolution): {mp / dt:.2f} MP/s, {a.images / dt:.2f} images/s"
    )


if __name__ == "__main__":
    main()
