"""The results tables of the report: claims first, rows by name (colorcnn.results)."""

from __future__ import annotations

import pandas as pd

from colorcnn import results, study
from colorcnn.scoring import METRICS


def test_results_tables_lead_with_the_claims(tmp_path, scores):
    claims = study.claims_table(
        scores, {"paper": "", "mse": "cross-entropy beats MSE"}, "paper", n_resamples=200
    )
    summary = study.summarize(scores, METRICS, n_resamples=200)
    seeds = study.seed_spread(scores, n_resamples=200)
    settings = {"backbone weights": "random (fallback)", "image size": 64}
    out = {k: tmp_path / f"results.{k}" for k in ("md", "tsv", "html")}
    results.write_results(
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
