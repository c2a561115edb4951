"""The study's statistics: intervals, paired comparisons, seeds, and the paper's claims.

Every test image is scored by every system (each variant and seed of the model, and the
baselines of :mod:`colorcnn.systems`), so systems are compared **per image**: the paired
difference of a metric, its mean with a BCa bootstrap interval (``scipy.stats.bootstrap``,
paired, vectorised), and the win rate (share of images where the first system scores higher)
with Wilson's interval. A variant trained with several seeds is first averaged over its seeds
image by image (:func:`colorcnn.systems.per_image`); the spread over seeds is reported beside
it, with an interval from resampling both images and seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from .systems import BASELINES, GRAY, MODEL, per_image

LEVEL = 0.95


def _clean(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v[np.isfinite(v)]


def mean_ci(values, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and BCa 95% bootstrap interval (non-finite values dropped; an interval needs two
    values, and constant values give a zero-width one)."""
    v = _clean(values)
    if len(v) == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if len(v) == 1:
        return (m, np.nan, np.nan)
    if np.ptp(v) == 0:
        return (m, m, m)
    res = st.bootstrap(
        (v,),
        np.mean,
        vectorized=True,
        method="BCa",
        n_resamples=n_resamples,
        confidence_level=LEVEL,
        rng=np.random.default_rng(seed),
    )
    return (m, float(res.confidence_interval.low), float(res.confidence_interval.high))


def win_rate(diff) -> tuple[float, float, float]:
    """Share of positive differences, with Wilson's 95% interval."""
    d = _clean(diff)
    if len(d) == 0:
        return (np.nan, np.nan, np.nan)
    k = int((d > 0).sum())
    ci = st.binomtest(k, len(d)).proportion_ci(confidence_level=LEVEL, method="wilson")
    return (k / len(d), float(ci.low), float(ci.high))


def paired(a, b, n_resamples: int = 2000, seed: int = 0) -> dict:
    """Compare ``a`` with ``b`` image by image (same order): mean of ``a − b`` with its BCa
    interval, and the win rate of ``a``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired: {a.shape} and {b.shape} scores do not pair up")
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    delta, lo, hi = mean_ci(d, n_resamples, seed)
    w, wlo, whi = win_rate(d)
    return {
        "delta": delta,
        "lo": lo,
        "hi": hi,
        "win": w,
        "win_lo": wlo,
        "win_hi": whi,
        "n": int(ok.sum()),
    }


def verdict(lo: float, hi: float) -> str:
    if lo > 0:
        return "supported"
    if hi < 0:
        return "contradicted"
    return "inconclusive"


def seed_spread(
    scores: pd.DataFrame, metric: str = "qssim", n_resamples: int = 2000
) -> pd.DataFrame:
    """Per variant: the per-seed means, their mean ± standard deviation, and the paired
    difference to gray with an interval that resamples images *and* seeds."""
    model = scores[scores["method"] == MODEL]
    gray = scores[scores["method"] == GRAY].set_index("image")[metric]
    rows = []
    for variant, g in model.groupby("variant", sort=False):
        runs = g.pivot_table(index="image", columns="seed", values=metric).dropna()
        diff = runs.sub(gray.reindex(runs.index), axis=0).to_numpy()  # images × seeds
        per_seed = runs.mean(axis=0)
        lo, hi = _two_stage_ci(diff, n_resamples)
        rows.append(
            {
                "variant": variant,
                "seeds": " ".join(str(int(s)) for s in per_seed.index),
                f"{metric}_per_seed": " ".join(f"{v:.4f}" for v in per_seed),
                f"{metric}_mean": float(per_seed.mean()),
                f"{metric}_sd": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else np.nan,
                "delta_gray": float(np.nanmean(diff)),
                "delta_gray_lo": lo,
                "delta_gray_hi": hi,
            }
        )
    return pd.DataFrame(rows)


def _two_stage_ci(diff: np.ndarray, n_resamples: int, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the mean of ``diff`` (images × seeds) resampling seeds, then
    images, with replacement (vectorised)."""
    n_img, n_seed = diff.shape
    if n_img < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_seed, (n_resamples, n_seed))
    i = rng.integers(0, n_img, (n_resamples, n_img))
    means = diff[i[:, :, None], s[:, None, :]].mean(axis=(1, 2))
    a = (1 - LEVEL) / 2
    return (float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


def summarize(scores: pd.DataFrame, metrics, n_resamples: int = 2000) -> pd.DataFrame:
    """Each system's mean of each metric with BCa intervals over images (variants averaged
    over their seeds first)."""
    rows = {}
    for metric in metrics:
        wide = per_image(scores, metric)
        for system in wide.columns:
            m, lo, hi = mean_ci(wide[system], n_resamples)
            r = rows.setdefault(system, {"system": system, "n": len(wide)})
            r.update({metric: m, f"{metric}_lo": lo, f"{metric}_hi": hi})
    return pd.DataFrame(list(rows.values()))


def _row_keys(df: pd.DataFrame) -> pd.Series:
    """Each row's system and image as one string (seeds as integers, blanks as "")."""
    seed = pd.to_numeric(df["seed"], errors="coerce").astype("Int64").astype(str)
    seed = seed.replace("<NA>", "")
    variant = df["variant"].fillna("").astype(str)
    return df["method"].astype(str) + "|" + variant + "|" + seed + "|" + df["image"].astype(str)


def with_lpips(scores: pd.DataFrame, lpips: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with an ``lpips`` column from the perceptual jobs' tables, row by row (the
    same system, seed and image); a row of either without the other is an error."""
    values = pd.Series(lpips["lpips"].to_numpy(), index=_row_keys(lpips))
    if values.index.duplicated().any():
        raise ValueError(f"LPIPS given twice for {values.index[values.index.duplicated()][0]}")
    keys = _row_keys(scores)
    missing, extra = set(keys) - set(values.index), set(values.index) - set(keys)
    if missing or extra:
        first = sorted(missing or extra)[0]
        raise ValueError(
            f"LPIPS rows do not match the scores: {len(missing)} scored without LPIPS, "
            f"{len(extra)} LPIPS rows without scores (e.g. {first})"
        )
    return scores.assign(lpips=values.reindex(keys).to_numpy())


def with_fid(summary: pd.DataFrame, fid: pd.DataFrame) -> pd.DataFrame:
    """The summary with each system's FID and its interval (a set metric: one value per
    system, from the FID rule's table)."""
    cols = fid.set_index("system")[["fid", "fid_lo", "fid_hi"]]
    if set(cols.index) != set(summary["system"]):
        raise ValueError(f"FID's systems {sorted(cols.index)} are not the study's "
                         f"{sorted(summary['system'])}")  # fmt: skip
    return summary.join(cols, on="system")


def comparisons(
    variants: dict[str, str], reference: str, external: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """The claims the study tests: ``(claim, a, b)`` meaning "a scores higher than b".

    The reference against every baseline (each baseline's own claim), then for each other
    variant its claim against the reference (``variants`` maps a variant to it; may be empty)
    and the variant against gray, then the same for each external system (``external``: name
    to its claim)."""
    out = [(f"{reference}: {b.claim}", reference, b.name) for b in BASELINES.values()]
    for v, claim in {**variants, **(external or {})}.items():
        if v == reference:
            continue
        out.append((claim or f"{reference} beats {v}", reference, v))
        out.append((f"{v}: better than gray", v, GRAY))
    return out


def claims_table(
    scores: pd.DataFrame,
    variants: dict[str, str],
    reference: str,
    *,
    external: dict[str, str] | None = None,
    metric: str = "qssim",
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """One row per claim: paired Δ of ``metric`` with its interval, win rate, verdict."""
    wide = per_image(scores, metric)
    rows = []
    for claim, a, b in comparisons(variants, reference, external):
        if a not in wide or b not in wide:
            continue
        p = paired(wide[a], wide[b], n_resamples)
        rows.append(
            {
                "claim": claim,
                "comparison": f"{a} − {b}",
                "metric": metric,
                **p,
                "verdict": verdict(p["lo"], p["hi"]),
            }
        )
    return pd.DataFrame(rows)


def by_category(
    scores: pd.DataFrame, a: str, b: str, metric: str = "qssim", n_resamples: int = 1000
) -> pd.DataFrame:
    """The paired comparison ``a − b`` within each test category."""
    wide = per_image(scores, metric)
    cats = scores.drop_duplicates("image").set_index("image")["category"].reindex(wide.index)
    rows = []
    for cat, idx in wide.groupby(cats).groups.items():
        p = paired(wide.loc[idx, a], wide.loc[idx, b], n_resamples)
        rows.append(
            {
                "category": cat,
                "comparison": f"{a} − {b}",
                **p,
                f"{a}": float(wide.loc[idx, a].mean()),
                f"{b}": float(wide.loc[idx, b].mean()),
            }
        )
    return pd.DataFrame(rows).sort_values("delta")
