"""Scoring colorizations against the originals, with baselines scored the same way.

Methods:

- ``model``: a trained network's output (the PNG the colorize stage wrote), one per
  variant and seed of the study;
- ``gray``: U = V = 128, i.e. the grayscale input itself (the baseline every table must show:
  QSSIM already rates it high);
- ``mean_chroma``: every pixel gets the training set's mean U and V (a constant tint: what a
  network that learned nothing image-specific would output).

Every method is recombined with the same full-resolution Y and scored at the same resolution
with the same functions. Images are scored in parallel processes.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .color import quantize, rgb_to_yuv, yuv_to_rgb
from .images import load_rgb
from .metrics import colourfulness, image_quality

log = logging.getLogger(__name__)

BASELINES = ("gray", "mean_chroma")
METRICS = ("qssim", "ssim", "psnr", "colourfulness", "colourfulness_gap")
SCORE_COLUMNS = (
    "method",
    "variant",
    "seed",
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
    """One test image, and what to score on it: the model's PNG and/or baselines."""

    image: str
    category: str
    original: str
    prediction: str | None = None  # the model's PNG
    baselines: tuple[str, ...] = ()
    stats: dict | None = None  # training chroma (mean_chroma)
    resolution: str = "original"  # or "model": everything resized to model_size first
    model_size: int = 224
    run: dict = field(default_factory=dict)  # {"variant": ..., "seed": ...} of the model


def _to_eval_size(rgb: np.ndarray, job: ScoreJob) -> np.ndarray:
    if job.resolution == "original":
        return rgb
    s = job.model_size
    return np.asarray(Image.fromarray(rgb).resize((s, s), Image.Resampling.BILINEAR))


def score_image(job: ScoreJob) -> list[dict]:
    """Score every method of ``job`` on its image; one row per method. Errors name the image."""
    try:
        return _score(job)
    except Exception as e:
        raise ValueError(f"scoring {job.image} ({job.original}) failed: {e}") from e


def _score(job: ScoreJob) -> list[dict]:
    gt = np.asarray(load_rgb(job.original))
    candidates = {}
    if job.baselines:
        y = rgb_to_yuv(gt)[..., 0]
        candidates = {m: baseline_rgb(m, y, job.stats) for m in job.baselines}
    if job.prediction:
        pred = np.asarray(Image.open(job.prediction).convert("RGB"))
        if pred.shape != gt.shape:
            raise ValueError(f"{job.prediction}: size {pred.shape} differs from {gt.shape}")
        candidates["model"] = pred
    gt_e = _to_eval_size(gt, job)
    tests = {m: _to_eval_size(rgb, job) for m, rgb in candidates.items()}
    quality = image_quality(gt_e, list(tests.values()))  # the reference downsampled once
    c_gt = colourfulness(gt_e)
    rows = []
    for (method, p), q in zip(tests.items(), quality, strict=True):
        c = colourfulness(p)
        run = job.run if method == "model" else {}
        rows.append(
            {
                "method": method,
                "variant": run.get("variant", ""),
                "seed": run.get("seed", ""),
                "image": job.image,
                "category": job.category,
                "width": gt.shape[1],
                "height": gt.shape[0],
                **q,
                "colourfulness": c,
                "colourfulness_gt": c_gt,
                "colourfulness_gap": c - c_gt,
            }
        )
    return rows


def _scored(jobs: list[ScoreJob], processes: int):
    if processes > 1 and len(jobs) > 1:
        chunk = max(1, min(16, len(jobs) // (4 * processes)))
        with ProcessPoolExecutor(processes) as pool:
            yield from pool.map(score_image, jobs, chunksize=chunk)
    else:
        yield from map(score_image, jobs)


def score_all(jobs: list[ScoreJob], processes: int = 1, progress: bool = True) -> pd.DataFrame:
    """Score all images, in ``processes`` worker processes."""
    from tqdm import tqdm

    rows: list[dict] = []
    with tqdm(total=len(jobs), unit="image", mininterval=10, disable=not progress) as bar:
        for r in _scored(jobs, processes):
            rows += r
            bar.update(1)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def read_stats(path: str | Path) -> dict:
    import json

    return json.loads(Path(path).read_text())
