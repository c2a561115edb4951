"""Figures from small fixture tables: each draws what it names, and is a reproducible file
(colorcnn.figures)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from conftest import scores_table
from PIL import Image

from colorcnn import figures, study
from colorcnn.testimages import natural_rgb


def _is_png(path, min_px=200):
    im = Image.open(path)
    return im.format == "PNG" and min(im.size) >= min_px


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def drawn(monkeypatch):
    """The figures drawn (saved as usual, and kept open for inspection)."""
    kept = []

    def keep(fig, path, dpi=figures.DPI):
        kept.append(fig)
        fig.savefig(path, dpi=dpi, format="png")  # what _save writes, without closing it

    monkeypatch.setattr(figures, "_save", keep)
    return kept


def test_training_curves_draw_every_run_and_its_validation_loss(tmp_path, drawn):
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
    loss_ax = drawn[0].axes[0]
    lines = [ln for ln in loss_ax.get_lines() if len(ln.get_xdata())]
    val = [ln for ln in lines if ln.get_marker() == "o"]
    train = [ln for ln in lines if ln.get_marker() != "o"]
    assert len(train) == 3 and len(val) == 3  # one line of each per run
    assert all(list(ln.get_xdata()) == [25, 50] for ln in val)  # the held-out points
    assert all(set(ln.get_ydata()) == {0.69} for ln in val)


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


def test_examples_are_the_worst_median_and_best_gain_over_gray():
    rows = []
    for image, model, gray in (("a", 0.90, 0.95), ("b", 0.97, 0.90), ("c", 0.93, 0.93)):
        rows.append({"method": "model", "image": image, "qssim": model})
        rows.append({"method": "gray", "image": image, "qssim": gray})
    rows.append({"method": "mean_chroma", "image": "a", "qssim": 0.0})  # not a reference
    picks = figures.example_picks(pd.DataFrame(rows))
    assert picks == [("worst", "a"), ("median", "c"), ("best", "b")]


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
