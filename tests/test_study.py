"""The study's statistics: paired intervals against a direct computation, claims, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scores_table
from scipy import stats as st

from colorcnn import study
from colorcnn.systems import per_image


def test_mean_ci_is_scipys_bca():
    v = np.random.default_rng(0).normal(0.8, 0.05, 200)
    m, lo, hi = study.mean_ci(v, n_resamples=999, seed=3)
    ref = st.bootstrap(
        (v,), np.mean, method="BCa", n_resamples=999, rng=np.random.default_rng(3)
    ).confidence_interval
    assert m == pytest.approx(v.mean()) and (lo, hi) == pytest.approx((ref.low, ref.high))
    assert study.mean_ci([0.5]) == (
        0.5,
        pytest.approx(np.nan, nan_ok=True),
        pytest.approx(np.nan, nan_ok=True),
    )
    assert study.mean_ci([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    assert np.isnan(study.mean_ci([np.nan])[0])


def test_paired_agrees_with_a_direct_computation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.9, 0.03, 80), rng.normal(0.88, 0.03, 80)
    p = study.paired(a, b, n_resamples=999, seed=5)
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
        study.paired(a, b[:-1])


def test_verdicts():
    assert study.verdict(0.01, 0.02) == "supported"
    assert study.verdict(-0.02, -0.01) == "contradicted"
    assert study.verdict(-0.01, 0.01) == "inconclusive"


def test_claims_table_has_the_claim_rows():
    claims = study.claims_table(
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
    # every row's verdict follows from its own interval, and its numbers from its own pair
    wide = per_image(scores_table(), "qssim")
    for comparison, r in by.iterrows():
        a, b = comparison.split(" − ")
        expected = study.paired(wide[a], wide[b], n_resamples=500)
        assert r["delta"] == pytest.approx(expected["delta"]) and r["n"] == expected["n"]
        assert r["verdict"] == study.verdict(r["lo"], r["hi"]), comparison


def test_seed_spread():
    spread = study.seed_spread(scores_table(), n_resamples=500).set_index("variant")
    assert spread.loc["paper", "seeds"] == "1 2"
    per_seed = [float(v) for v in spread.loc["paper", "qssim_per_seed"].split()]
    assert spread.loc["paper", "qssim_mean"] == pytest.approx(np.mean(per_seed), abs=1e-4)
    lo, hi = spread.loc["paper", ["delta_gray_lo", "delta_gray_hi"]]
    assert lo < spread.loc["paper", "delta_gray"] < hi and lo > 0


def test_by_category_and_summary():
    df = scores_table()
    cats = study.by_category(df, "paper", "gray", n_resamples=200)
    assert sorted(cats["category"]) == ["c0", "c1", "c2"] and (cats["n"] == 10).all()
    summary = study.summarize(df, ["qssim"], n_resamples=200).set_index("system")
    assert set(summary.index) == {"paper", "mse", "gray", "mean_chroma"}
    assert (summary["qssim_lo"] < summary["qssim"]).all() and (summary["n"] == 30).all()
