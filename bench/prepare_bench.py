"""Benchmark: our prepare conversion against plain PIL pipelines, same filter, side by side.

    python bench/prepare_bench.py [--n 150] [--size 224] [--repeats 5]

ILSVRC-like JPEGs (500x375 and 375x500, quality 90) become stored Y + UV at the model size,
every side with the same antialiased bilinear filter and centre crop:

- naive: PIL open -> RGB -> resize the shorter side -> crop -> float64 formulas -> uint8;
- PIL draft: the same after ``Image.draft`` (libjpeg's DCT scaling by 1/2, 1/4, 1/8), the
  strongest simple competitor;
- ours: :func:`colorcnn.shards.convert_image` (DCT scaling by any n/8 through simplejpeg,
  resampling only the crop box, plane-wise colour formulas), one thread, then through the
  shard writer's thread pool.

It prints images/s with ratios, and how far our arrays are from the naive ones (reduced
decoding makes them differ slightly: it is a different, equally valid, resampling path).
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from _common import compare, header, report
from PIL import Image

from colorcnn.config import PrepareOptions
from colorcnn.shards import convert_image
from colorcnn.testimages import natural_rgb


def plain(path: Path, size: int, draft: bool):
    im = Image.open(path)
    if draft:
        im.draft("RGB", (size, size))
    im = im.convert("RGB")
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.Resampling.BILINEAR)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    a = np.asarray(im.crop((left, top, left + size, top + size))).astype(np.float64)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    q = lambda x: np.clip(np.rint(x), 0, 255).astype(np.uint8)  # noqa: E731
    y = q(0.299 * r + 0.587 * g + 0.114 * b)
    return y, np.stack(
        [
            q(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
            q(0.5 * r - 0.418688 * g - 0.081312 * b + 128),
        ]
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    header("prepare: decode -> resize -> Y/UV, same filter on every side")
    opts = PrepareOptions(image_size=a.size, min_side=16, min_chroma=0.0)
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for k in range(a.n):
            p = Path(d) / f"img_{k}.JPEG"
            Image.fromarray(natural_rgb(*((375, 500) if k % 3 else (500, 375)), seed=k)).save(
                p, quality=90
            )
            paths.append(p)

        def pool(fn):
            with ThreadPoolExecutor(a.threads) as ex:
                list(ex.map(fn, paths, chunksize=8))

        sides = {
            "naive PIL": lambda: [plain(p, a.size, False) for p in paths],
            "PIL with draft()": lambda: [plain(p, a.size, True) for p in paths],
            "ours, 1 thread": lambda: [convert_image(p, opts) for p in paths],
            f"ours, {a.threads} threads": lambda: pool(lambda p: convert_image(p, opts)),
        }
        report(
            compare(sides, repeats=a.repeats, work=a.n),
            "naive PIL",
            unit="image",
            title=f"{a.n} JPEGs of 500x375 / 375x500 -> {a.size}x{a.size}",
        )
        diff = np.concatenate(
            [
                (convert_image(p, opts)[1].astype(int) - plain(p, a.size, False)[1]).ravel()
                for p in paths[:10]
            ]
        )
        print(
            f"ours vs naive, UV: mean |difference| {np.abs(diff).mean():.2f} levels, "
            f"max {np.abs(diff).max()} (reduced decoding resamples differently)"
        )


if __name__ == "__main__":
    main()
