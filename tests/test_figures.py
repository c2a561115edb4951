"""Figures and results tables from small fixture tables; figures are reproducible files."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_stats import scores_table

from colorcnn import figures, report, stats
from colorcnn.evaluate import METRICS
from colorcnn.synthetic import natural_rgb


@pytest.fixture
def scores():
    df = scores_table(n_images=12)
    rng = np.random.default_rng(0)
    for m in ("ssim", "psnr", "colourfulness", "colourfulness_gt", "colourfulness_gap"):
        df[m] = rng.uniform(1, 40, len(df))
    df["width"], df["height"] = 40, 30
    return df


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
    claims = stats.claims_table(scores, {"paper": "", "mse": ""}, "paper", n_resamples=200)
    figures.paired_deltas(claims, tmp_path / "d.png")
    cats = stats.by_category(scores, "paper", "gray", n_resamples=200)
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


def test_results_tables_lead_with_the_claims(tmp_path, scores):
    claims = stats.claims_table(
        scores, {"paper": "", "mse": "cross-entropy beats MSE"}, "paper", n_resamples=200
    )
    summary = stats.summarize(scores, METRICS, n_resamples=200)
    seeds = stats.seed_spread(scores, n_resamples=200)
    settings = {"backbone weights": "random (fallback)", "image size": 64}
    out = {k: tmp_path / f"results.{k}" for k in ("md", "tsv", "html")}
    report.write_results(
        claims, summary, seeds, METRICS, settings, out["md"], out["tsv"], out["html"]
    )
    md = out["md"].read_text()
    assert md.startswith("## The paper's claims")
    assert md.index("| claim | comparison | paired Δ QSSIM [95% CI] | win rate") < md.index(
        "## Scores"
    )
    assert "cross-entropy beats MSE | paper − mse |" in md and "| backbone weights | random" in md
    assert md.index("| paper |") < md.index("| gray (U=V=128) |")
    html = out["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and "paper − gray" in html
    tsv = pd.read_csv(out["tsv"], sep="\t")
    assert list(tsv["section"].unique()) == ["claim", "score", "seeds"]
    assert tsv[tsv["section"] == "claim"]["verdict"].notna().all()
