"""The study's statistics: paired intervals against a direct computation, claims, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from colorcnn import stats


def scores_table(n_images=30, seeds=(1, 2), variants=("paper", "mse"), rng_seed=0):
    """Every image scored by every run and baseline: paper ≈ gray + 0.02, mse ≈ gray."""
    rng = np.random.default_rng(rng_seed)
    gray = rng.uniform(0.7, 0.9, n_images)
    rows = []
    for i in range(n_images):
        common = {"image": f"c{i % 3}/img{i}.jpg", "category": f"c{i % 3}"}
        rows.append({"method": "gray", "variant": "", "seed": np.nan, "qssim": gray[i], **common})
        rows.append(
            {
                "method": "mean_chroma",
                "variant": "",
                "seed": np.nan,
                "qssim": gray[i] - 0.01,
                **common,
            }
        )
        for v in variants:
            for s in seeds:
                gain = 0.02 if v == "paper" else 0.0
                q = gray[i] + gain + rng.normal(0, 0.005)
                rows.append({"method": "model", "variant": v, "seed": s, "qssim": q, **common})
    return pd.DataFrame(rows)


def test_mean_ci_is_scipys_bca():
    v = np.random.default_rng(0).normal(0.8, 0.05, 200)
    m, lo, hi = stats.mean_ci(v, n_resamples=999, seed=3)
    ref = st.bootstrap(
        (v,), np.mean, method="BCa", n_resamples=999, rng=np.random.default_rng(3)
    ).confidence_interval
    assert m == pytest.approx(v.mean()) and (lo, hi) == pytest.approx((ref.low, ref.high))
    assert stats.mean_ci([0.5]) == (
        0.5,
        pytest.approx(np.nan, nan_ok=True),
        pytest.approx(np.nan, nan_ok=True),
    )
    assert stats.mean_ci([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    assert np.isnan(stats.mean_ci([np.nan])[0])


def test_paired_agrees_with_a_direct_computation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.9, 0.03, 80), rng.normal(0.88, 0.03, 80)
    p = stats.paired(a, b, n_resamples=999, seed=5)
    d = a - b
    ref = st.bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        method="BCa",
        n_resamples=999,
        rng=np.random.default_rng(5),
    ).confidence_interval
    assert p["delta"] == pytest.approx(d.mean())
    # paired resampling of (a, b) is resampling the differences
    assert (p["lo"], p["hi"]) == pytest.approx((ref.low, ref.high), rel=1e-9)
    assert p["win"] == pytest.approx((d > 0).mean()) and p["n"] == 80
    wilson = st.binomtest(int((d > 0).sum()), 80).proportion_ci(method="wilson")
    assert (p["win_lo"], p["win_hi"]) == pytest.approx((wilson.low, wilson.high))
    with pytest.raises(ValueError, match="do not pair up"):
        stats.paired(a, b[:-1])


def test_verdicts():
    assert stats.verdict(0.01, 0.02) == "supported"
    assert stats.verdict(-0.02, -0.01) == "contradicted"
    assert stats.verdict(-0.01, 0.01) == "inconclusive"


def test_claims_table_has_the_claim_rows():
    claims = stats.claims_table(
        scores_table(), {"paper": "", "mse": "cross-entropy beats MSE"}, "paper", n_resamples=500
    )
    assert list(claims["comparison"]) == [
        "paper − gray",
        "paper − mean_chroma",
        "paper − mse",
        "mse − gray",
    ]
    by = claims.set_index("comparison")
    assert by.loc["paper − mse", "claim"] == "cross-entropy beats MSE"
    assert by.loc["paper − gray", "verdict"] == "supported"
    assert by.loc["paper − gray", "delta"] == pytest.approx(0.02, abs=0.003)
    assert by.loc["paper − gray", "win"] == 1.0
    assert by.loc["mse − gray", "verdict"] in ("inconclusive", "supported", "contradicted")


def test_variants_are_averaged_over_seeds_image_by_image():
    df = scores_table()
    wide = stats.per_image(df, "qssim")
    img = df["image"].iloc[0]
    runs = df[(df["image"] == img) & (df["variant"] == "paper")]["qssim"]
    assert wide.loc[img, "paper"] == pytest.approx(runs.mean())
    assert set(wide.columns) == {"paper", "mse", "gray", "mean_chroma"}


def test_seed_spread():
    spread = stats.seed_spread(scores_table(), n_resamples=500).set_index("variant")
    assert spread.loc["paper", "seeds"] == "1 2"
    per_seed = [float(v) for v in spread.loc["paper", "qssim_per_seed"].split()]
    assert spread.loc["paper", "qssim_mean"] == pytest.approx(np.mean(per_seed), abs=1e-4)
    lo, hi = spread.loc["paper", ["delta_gray_lo", "delta_gray_hi"]]
    assert lo < spread.loc["paper", "delta_gray"] < hi and lo > 0


def test_by_category_and_summary():
    df = scores_table()
    cats = stats.by_category(df, "paper", "gray", n_resamples=200)
    assert sorted(cats["category"]) == ["c0", "c1", "c2"] and (cats["n"] == 10).all()
    summary = stats.summarize(df, ["qssim"], n_resamples=200).set_index("system")
    assert set(summary.index) == {"paper", "mse", "gray", "mean_chroma"}
    assert (summary["qssim_lo"] < summary["qssim"]).all() and (summary["n"] == 30).all()
