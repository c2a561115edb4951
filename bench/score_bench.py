"""Benchmark: the score stage at SUN scale: image x method scorings per second, 1 process
against N, at 1024x768 with all four metrics (QSSIM, SSIM, PSNR, colourfulness).

    python bench/score_bench.py [--images 8] [--processes 2] [--repeats 3]

Each image is scored for the model's PNG and both baselines (3 scorings), from files, as the
score rules do: decode the original and the PNG, recombine the baselines, four metrics each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import compare, header, report
from PIL import Image

from colorcnn.scoring import ScoreJob, score_all
from colorcnn.systems import BASELINES
from colorcnn.testimages import natural_rgb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    header(f"score: {a.width}x{a.height}, model + {len(BASELINES)} baselines per image")
    stats = {"mean_u": 120.0, "mean_v": 135.0}
    with tempfile.TemporaryDirectory() as d:
        jobs = []
        for k in range(a.images):
            gt, pred = Path(d) / f"gt{k}.jpg", Path(d) / f"pred{k}.png"
            Image.fromarray(natural_rgb(a.height, a.width, k)).save(gt, quality=92)
            Image.fromarray(natural_rgb(a.height, a.width, k + 500)).save(pred, compress_level=1)
            jobs.append(
                ScoreJob(
                    f"x/{k}.jpg",
                    "x",
                    str(gt),
                    prediction=str(pred),
                    baselines=BASELINES,
                    stats=stats,
                )
            )
        n = a.images * (1 + len(BASELINES))
        sides = {
            "1 process": lambda: score_all(jobs, 1, progress=False),
            f"{a.processes} processes": lambda: score_all(jobs, a.processes, progress=False),
        }
        t = compare(sides, repeats=a.repeats, work=n)
        report(t, "1 process", unit="scoring")
        one, many = t["1 process"], t[f"{a.processes} processes"]
        print(
            f"{one.rate:.1f} scorings/s in one process; {many.rate / a.processes:.1f} per core "
            f"with {a.processes}; scaling {one.median / many.median:.2f}x"
        )


if __name__ == "__main__":
    main()
