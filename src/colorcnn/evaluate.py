"""Scoring colorizations against the originals, with baselines scored the same way.

Methods:

- ``model``: the trained network's output (PNG written by the colorize stage);
- ``gray``: U = V = 128, i.e. the grayscale input itself (the baseline every table must show:
  QSSIM already rates it high);
- ``mean_chroma``: every pixel gets the training set's mean U and V (a constant tint: what a
  network that learned nothing image-specific would output).

Every method is recombined with the same full-resolution Y and scored at the same resolution
with the same functions.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .color import quantize, rgb_to_yuv, yuv_to_rgb
from .images import load_rgb
from .metrics import colourfulness, psnr, qssim, ssim

log = logging.getLogger(__name__)

BASELINES = ("gray", "mean_chroma")
SCORE_COLUMNS = (
    "method",
    "image",
    "category",
    "width",
    "height",
    "qssim",
    "ssim",
    "psnr",
    "colourfulness",
    "colourfulness_gt",
    "colourfulness_gap",
)


def chroma_stats(uv_paths) -> dict:
    """Mean U and V (0-255) over every pixel of the training shards, streamed shard by shard."""
    total = np.zeros(2)
    n = 0
    for p in uv_paths:
        uv = np.load(p, mmap_mode="r")
        for a in range(0, len(uv), 256):
            block = np.asarray(uv[a : a + 256], dtype=np.float64)
            total += block.sum(axis=(0, 2, 3))
            n += block.shape[0] * block.shape[2] * block.shape[3]
    if n == 0:
        raise ValueError("no training pixels in the shards: cannot compute mean chroma")
    u, v = total / n
    return {"mean_u": float(u), "mean_v": float(v), "pixels": int(n)}


def baseline_rgb(method: str, y: np.ndarray, stats: dict | None = None) -> np.ndarray:
    """RGB ``uint8`` of a baseline for full-resolution Y ``(H, W)`` (float, 0-255)."""
    if method == "gray":
        u = v = 128.0
    elif method == "mean_chroma":
        if stats is None:
            raise ValueError("the mean_chroma baseline needs the training set's chroma stats")
        u, v = stats["mean_u"], stats["mean_v"]
    else:
        raise ValueError(f"unknown baseline {method!r}; known: {BASELINES}")
    yuv = np.stack([y, np.full_like(y, u), np.full_like(y, v)], axis=-1)
    return quantize(yuv_to_rgb(yuv))


@dataclass(frozen=True)
class ScoreJob:
    image: str
    category: str
    original: str
    predictions: dict  # method -> path of a PNG
    resolution: str  # "original" or "model"
    model_size: int
    stats: dict | None


def _to_eval_size(rgb: np.ndarray, job: ScoreJob) -> np.ndarray:
    if job.resolution == "original":
        return rgb
    s = job.model_size
    return np.asarray(Image.fromarray(rgb).resize((s, s), Image.Resampling.BILINEAR))


def score_image(job: ScoreJob) -> list[dict]:
    """Score every method on one image; returns one row per method."""
    gt = np.asarray(load_rgb(job.original))
    y = rgb_to_yuv(gt)[..., 0]
    candidates = {
        m: baseline_rgb(m, y, job.stats)
        for m in BASELINES
        if m != "mean_chroma" or job.stats is not None
    }
    for method, path in job.predictions.items():
        pred = np.asarray(Image.open(path).convert("RGB"))
        if pred.shape != gt.shape:
            raise ValueError(f"{path}: size {pred.shape} differs from the original {gt.shape}")
        candidates[method] = pred
    gt_e = _to_eval_size(gt, job)
    c_gt = colourfulness(gt_e)
    rows = []
    for method, rgb in candidates.items():
        p = _to_eval_size(rgb, job)
        c = colourfulness(p)
        rows.append(
            {
                "method": method,
                "image": job.image,
                "category": job.category,
                "width": gt.shape[1],
                "height": gt.shape[0],
                "qssim": qssim(gt_e, p),
                "ssim": ssim(gt_e, p),
                "psnr": psnr(gt_e, p),
                "colourfulness": c,
                "colourfulness_gt": c_gt,
                "colourfulness_gap": c - c_gt,
            }
        )
    return rows


def score_all(jobs: list[ScoreJob], processes: int = 1) -> pd.DataFrame:
    """Score all images (in parallel processes); a failing image raises with its name."""
    rows: list[dict] = []
    if processes > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(processes) as pool:
            for r in pool.map(score_image, jobs, chunksize=4):
                rows += r
    else:
        for j in jobs:
            rows += score_image(j)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def bootstrap_ci(values: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap interval of the mean."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (np.nan, np.nan)
    if len(v) == 1:
        return (float(v[0]), float(v[0]))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def summarize(
    scores: pd.DataFrame,
    by=("method",),
    n_boot: int = 2000,
    seed: int = 0,
    metrics=("qssim", "ssim", "psnr", "colourfulness", "colourfulness_gap"),
):
    """Mean and 95% bootstrap interval of each metric, per group (method, or method+category)."""
    out = []
    for key, g in scores.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        row["n"] = len(g)
        for m in metrics:
            lo, hi = bootstrap_ci(g[m].to_numpy(), n_boot, seed)
            vals = g[m].to_numpy(dtype=np.float64)
            row[m] = float(np.mean(vals[np.isfinite(vals)])) if np.isfinite(vals).any() else np.nan
            row[f"{m}_lo"], row[f"{m}_hi"] = lo, hi
        out.append(row)
    return pd.DataFrame(out)


def read_stats(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
