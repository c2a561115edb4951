"""Figure and table functions on small fixture tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import natural_rgb
from PIL import Image

from colorcnn import figures
from colorcnn.evaluate import summarize


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        cat = f"cat{i % 4}"
        for m, base in (("model", 0.8), ("gray", 0.75), ("mean_chroma", 0.7)):
            rows.append(
                {
                    "method": m,
                    "image": f"x/{cat}/img{i}.jpg",
                    "category": cat,
                    "width": 40,
                    "height": 30,
                    "qssim": base + rng.normal(0, 0.03),
                    "ssim": 0.8,
                    "psnr": 22.0,
                    "colourfulness": 0.0 if m == "gray" else rng.uniform(5, 40),
                    "colourfulness_gt": 30.0,
                    "colourfulness_gap": 0.0,
                }
            )
    return pd.DataFrame(rows)


def _is_png(path, min_px=200):
    im = Image.open(path)
    return im.format == "PNG" and min(im.size) >= min_px


def test_training_curves(tmp_path):
    m = pd.DataFrame(
        {
            "step": range(5, 55, 5),
            "epoch": 0,
            "loss": np.linspace(0.7, 0.68, 10),
            "lr": 0.08,
            "images_per_s": 17.0,
            "backbone_weights": "random",
        }
    )
    figures.training_curves(m, tmp_path / "t.png")
    assert _is_png(tmp_path / "t.png")


def test_score_figures(tmp_path, scores):
    figures.qssim_distribution(scores, tmp_path / "q.png")
    figures.qssim_vs_colourfulness(scores, tmp_path / "c.png")
    by_cat = summarize(scores, ("method", "category"), n_boot=200)
    figures.category_qssim(by_cat, tmp_path / "cat.png", k=1)
    for f in ("q.png", "c.png", "cat.png"):
        assert _is_png(tmp_path / f), f


def test_example_grid(tmp_path, scores):
    originals, colorized = {}, {}
    for k, img in enumerate(scores["image"].unique()):
        originals[img] = tmp_path / f"gt{k}.png"
        colorized[img] = tmp_path / f"col{k}.png"
        Image.fromarray(natural_rgb(30, 40, k)).save(originals[img])
        Image.fromarray(natural_rgb(30, 40, k + 100)).save(colorized[img])
    figures.example_grid(scores, originals, colorized, tmp_path / "ex.png")
    assert _is_png(tmp_path / "ex.png")


def test_results_table(tmp_path, scores):
    summary = summarize(scores, n_boot=200)
    figures.results_table(
        summary,
        {"backbone weights": "random (fallback)", "image size": 64},
        tmp_path / "r.md",
        tmp_path / "r.tsv",
    )
    md = (tmp_path / "r.md").read_text()
    assert md.index("model (ours)") < md.index("mean chroma") < md.index("gray (U=V=128)")
    assert "| backbone weights | random (fallback) |" in md and "95%" in md
    tsv = pd.read_csv(tmp_path / "r.tsv", sep="\t")
    assert list(tsv["method"]) == ["model", "mean_chroma", "gray"]
