"""Figures from small fixture tables: each draws what it names, and is a reproducible file
(colorcnn.figures)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from conftest import scores_table
from PIL import Image

from colorcnn import figures, study
from colorcnn.testimages import natural_rgb


def _is_png(path, min_px=200):
    im = Image.open(path)
    return im.format == "PNG" and min(im.size) >= min_px


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_training_curves(tmp_path):
    rows = []
    for variant, seed in (("paper", 1), ("paper", 2), ("mse", 1)):
        for step in range(5, 55, 5):
            rows.append(
                {
                    "step": step,
                    "epoch": 0,
                    "loss": 0.7 - step / 1000,
                    "val_loss": 0.69 if step % 25 == 0 else np.nan,
                    "lr": 0.08,
                    "images_per_s": 17.0,
                    "backbone_weights": "random",
                    "variant": variant,
                    "seed": seed,
                }
            )
    figures.training_curves(pd.DataFrame(rows), tmp_path / "t.png")
    assert _is_png(tmp_path / "t.png")


def test_score_figures_are_reproducible(tmp_path, scores):
    for k in ("a", "b"):
        figures.qssim_distribution(scores, tmp_path / f"q{k}.png")
    assert _digest(tmp_path / "qa.png") == _digest(tmp_path / "qb.png")  # seeded jitter
    figures.qssim_vs_colourfulness(scores, tmp_path / "c.png")
    figures.seed_spread(scores, tmp_path / "s.png")
    figures.model_vs_gray(scores, "paper", tmp_path / "v.png")
    big = scores_table(n_images=600)
    figures.model_vs_gray(big, "paper", tmp_path / "hex.png")  # many images: hexbin
    claims = study.claims_table(scores, {"paper": "", "mse": ""}, "paper", n_resamples=200)
    figures.paired_deltas(claims, tmp_path / "d.png")
    cats = study.by_category(scores, "paper", "gray", n_resamples=200)
    figures.category_qssim(cats, "paper", "gray", tmp_path / "cat.png", k=1)
    for f in ("qa.png", "c.png", "s.png", "v.png", "hex.png", "d.png", "cat.png"):
        assert _is_png(tmp_path / f), f


def test_example_grid(tmp_path, scores):
    run = scores[
        (scores["method"] == "gray") | (scores["variant"] == "paper") & (scores["seed"] == 1)
    ]
    originals, colorized = {}, {}
    for k, img in enumerate(run["image"].unique()):
        originals[img], colorized[img] = tmp_path / f"gt{k}.png", tmp_path / f"col{k}.png"
        Image.fromarray(natural_rgb(30, 40, k)).save(originals[img])
        Image.fromarray(natural_rgb(30, 40, k + 100)).save(colorized[img])
    figures.example_grid(run, originals, colorized, tmp_path / "ex.png")
    assert _is_png(tmp_path / "ex.png")
