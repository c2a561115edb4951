"""Benchmark: QSSIM (numpy and batched torch) and our SSIM against scikit-image's SSIM.

    python bench/qssim_bench.py [--pairs 10] [--repeats 7]

Interleaved and warm (bench/_common.compare): the same image pairs for every side.
scikit-image's ``structural_similarity(channel_axis=-1, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)`` is the reference. At 1024x768 QSSIM (and our
SSIM, like Wang's ssim.m) first downsample by 3, as their definitions say; scikit-image's SSIM
does not. The torch version scores a batch of 32 at 224x224 in one call (float32).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import compare, header, report

from colorcnn.metrics import qssim, ssim, ssim_skimage
from colorcnn.metrics_torch import qssim_torch
from colorcnn.testimages import natural_rgb


def pairs_of(h, w, n):
    return [(natural_rgb(h, w, 2 * k), natural_rgb(h, w, 2 * k + 1)) for k in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sizes", default="224x224,1024x768")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = ap.parse_args(argv)
    header("QSSIM and SSIM vs scikit-image's SSIM")
    for size in a.sizes.split(","):
        w, h = map(int, size.split("x"))
        pairs = pairs_of(h, w, a.pairs)
        sides = {
            f"skimage SSIM x{a.pairs}": lambda p=pairs: [ssim_skimage(x, y) for x, y in p],
            f"QSSIM numpy x{a.pairs}": lambda p=pairs: [qssim(x, y) for x, y in p],
            f"our SSIM x{a.pairs}": lambda p=pairs: [ssim(x, y) for x, y in p],
        }
        t = compare(sides, repeats=a.repeats, work=a.pairs)
        report(t, f"skimage SSIM x{a.pairs}", unit="pair", title=f"{w}x{h}")
    dev = torch.device(a.device)
    batch = pairs_of(224, 224, a.batch)
    x = torch.from_numpy(np.stack([p[0] for p in batch])).permute(0, 3, 1, 2).contiguous().to(dev)
    y = torch.from_numpy(np.stack([p[1] for p in batch])).permute(0, 3, 1, 2).contiguous().to(dev)
    want = np.array([qssim(p, q) for p, q in batch])
    err = np.abs(qssim_torch(x, y).cpu().numpy() - want).max()
    print(f"torch (float32) vs numpy QSSIM on the batch: max |difference| {err:.1e}")

    def torch_batch():
        r = qssim_torch(x, y)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return r

    t = compare(
        {
            f"QSSIM numpy x{a.batch}": lambda: [qssim(p, q) for p, q in batch],
            f"QSSIM torch, one batch of {a.batch} ({dev.type})": torch_batch,
        },
        repeats=a.repeats,
        work=a.batch,
    )
    report(t, f"QSSIM numpy x{a.batch}", unit="image", title="224x224, batched torch")


if __name__ == "__main__":
    main()
