"""Benchmark: our prepare conversion vs a naive PIL + numpy baseline, side by side in one run.

    python bench/prepare_bench.py [--n 200] [--size 224] [--threads 1 2]

Generates ILSVRC-like JPEGs (500x375 and 375x500, quality 90), then converts each to stored
Y + UV at the model size with (a) the naive baseline: PIL open -> RGB -> resize shorter side
-> centre crop -> float64 numpy per-channel formulas -> round -> uint8, and (b) ours
(:func:`colorcnn.shards.convert_image`: crop-box resampling, reduced-size decoding where it
applies, one matrix product), single-threaded, then through the shard writer's thread pool.
Prints images/s and ratios; checks both produce the same arrays to within 1 level.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import natural_rgb  # noqa: E402

from colorcnn.shards import PrepareOptions, convert_image  # noqa: E402


def naive(path: Path, size: int, resample=Image.Resampling.BICUBIC):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), resample)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    a = np.asarray(im.crop((left, top, left + size, top + size))).astype(np.float64)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    q = lambda x: np.clip(np.rint(x), 0, 255).astype(np.uint8)  # noqa: E731
    return q(y), np.stack([q(u), q(v)])


def rate(fn, paths, threads=1, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        if threads == 1:
            for p in paths:
                fn(p)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(fn, paths, chunksize=8))
        best = min(best, time.perf_counter() - t0)
    return len(paths) / best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args(argv)
    opts = {
        f: PrepareOptions(image_size=a.size, min_chroma=0.0, resample=f)
        for f in ("bicubic", "bilinear")
    }
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for k in range(a.n):
            shape = (375, 500) if k % 3 else (500, 375)
            p = Path(d) / f"img_{k}.JPEG"
            Image.fromarray(natural_rgb(*shape, seed=k)).save(p, quality=90)
            paths.append(p)
        print(f"{a.n} JPEGs of 500x375 / 375x500 -> {a.size}x{a.size} Y+UV; ratios vs the")
        print("naive baseline with PIL's default filter (bicubic), and with the same filter")
        base = rate(lambda p: naive(p, a.size), paths)
        print(f"{'naive, bicubic (PIL default), 1 thread':44s} {base:8.1f} img/s   1.00x")
        base_bl = rate(lambda p: naive(p, a.size, Image.Resampling.BILINEAR), paths)
        print(f"{'naive, bilinear, 1 thread':44s} {base_bl:8.1f} img/s   {base_bl / base:.2f}x")
        for f, o in opts.items():
            same = base if f == "bicubic" else base_bl
            for t in a.threads:
                r = rate(lambda p, o=o: convert_image(p, o), paths, threads=t)
                print(
                    f"{f'ours, {f}, {t} thread(s)':44s} {r:8.1f} img/s   {r / base:.2f}x"
                    f"   ({r / same:.2f}x same filter)"
                )


if __name__ == "__main__":
    main()
