"""The results tables of ``reports/``: the paper's claims first, then every system's scores.

``results.md`` (for people), ``results.html`` (the same, for the HTML report and browsers) and
``results.tsv`` (for programs: one tidy table, ``section`` = ``claim``, ``score`` or ``seeds``).
The settings that a reader needs to interpret the numbers come from the runs' own summaries
(what training actually did, with the data fingerprint and backbone SHA-256), plus a few
workflow settings; :func:`settings` assembles them in one place.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .config import HeadConfig
from .files import atomic_path
from .systems import GRAY, label
from .tables import RESULT_COLUMNS, ordered, write_frame

METRIC_NAMES = {
    "qssim": "QSSIM",
    "ssim": "SSIM",
    "psnr": "PSNR (dB)",
    "colourfulness": "colourfulness (H&S, signed)",
    "colourfulness_gap": "colourfulness gap",
    "cf": "CF (literature)",
    "cf_gap": "CF gap (mean: ΔCF)",
    "cf_abs_gap": "mean abs. CF gap",
    "delta_e00": "ΔE00 (lower is better)",
    "lpips": "LPIPS (VGG; lower is better)",
    "fid": "FID (set metric; lower is better)",
}
DIGITS = {
    "psnr": 2,
    "colourfulness": 1,
    "colourfulness_gap": 1,
    "cf": 1,
    "cf_gap": 1,
    "cf_abs_gap": 1,
    "delta_e00": 2,
    "fid": 2,
}


def settings(summaries: list[dict], workflow: dict, peers: dict | None = None) -> dict:
    """What a reader needs to interpret the tables: per-run facts (all runs must agree on the
    data and backbone), the workflow settings given, and each peer's weights as its rule
    recorded them (``peers``: name to the record; the SHA-256 and how it was verified)."""
    workflow = dict(workflow)
    for name, rec in (peers or {}).items():
        if "sha256" in rec:
            workflow[f"peer {name}"] = (
                f"{rec['network']}, weights {rec['weights']} (sha256 {rec['sha256'][:16]}, "
                f"verified by {rec['verified']})"
            )
    first = summaries[0]
    prov = first["provenance"]
    heads = {f"{s['variant']}": s for s in summaries}
    return {
        "backbone weights": first["backbone_weights"],
        "backbone sha256": prov["backbone"][:16],
        "training images (held out)": f"{first['n_train_images']} ({first['n_val_images']})",
        "training data fingerprint": prov["data"],
        "image size": first["image_size"],
        "epochs / steps": f"{first['epochs']} / {first['steps']}",
        "batch size": first["batch_size"],
        **{f"variant {v}": _describe_run(s) for v, s in heads.items()},
        "seeds": " ".join(sorted({str(s["seed"]) for s in summaries})),
        **workflow,
        "code version": first["code_version"],
    }


def _describe_run(s: dict) -> str:
    h, t = s["provenance"]["head"], s["provenance"]["train"]
    width = HeadConfig(**h).t_channels
    a, b = (f"{h[f'{k}_channels']} ({h[f'{k}_kernel']}x{h[f'{k}_kernel']})" for k in "ab")
    return (
        f"T = {'+'.join(h['taps'])} ({width} channels); Q = {a} + {b}; "
        f"loss {t['loss']}; lr {t['lr']}"
    )


def _fmt(mean, lo, hi, digits=3) -> str:
    if not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _claim_rows(claims: pd.DataFrame) -> list[list[str]]:
    return [
        [
            r["claim"],
            r["comparison"],
            _fmt(r["delta"], r["lo"], r["hi"], 4),
            f"{_fmt(r['win'], r['win_lo'], r['win_hi'], 2)} (n={int(r['n'])})",
            r["verdict"],
        ]
        for _, r in claims.iterrows()
    ]


def _score_rows(summary: pd.DataFrame, metrics) -> list[list[str]]:
    return [
        [label(r["system"]), str(int(r["n"]))]
        + [_fmt(r[m], r[f"{m}_lo"], r[f"{m}_hi"], DIGITS.get(m, 3)) for m in metrics]
        for _, r in summary.iterrows()
    ]


def _seed_rows(seeds: pd.DataFrame) -> list[list[str]]:
    return [
        [
            r["variant"],
            str(r["seeds"]),
            str(r["qssim_per_seed"]),
            _fmt(r["qssim_mean"], np.nan, np.nan, 4)
            + ("" if not np.isfinite(r["qssim_sd"]) else f" ± {r['qssim_sd']:.4f}"),
            _fmt(r["delta_gray"], r["delta_gray_lo"], r["delta_gray_hi"], 4),
        ]
        for _, r in seeds.iterrows()
    ]


def tidy(claims, summary, seeds, metrics) -> pd.DataFrame:
    """All results as one long table (``tables.RESULT_COLUMNS``), rows built by name."""
    blank = {"comparison": "", "win": np.nan, "win_lo": np.nan, "win_hi": np.nan, "verdict": ""}
    rows = [
        {
            "section": "claim",
            "item": r["claim"],
            "comparison": r["comparison"],
            "metric": r["metric"],
            "estimate": r["delta"],
            **{k: r[k] for k in ("lo", "hi", "win", "win_lo", "win_hi", "n", "verdict")},
        }
        for _, r in claims.iterrows()
    ]
    rows += [
        {
            **blank,
            "section": "score",
            "item": r["system"],
            "metric": m,
            "estimate": r[m],
            "lo": r[f"{m}_lo"],
            "hi": r[f"{m}_hi"],
            "n": r["n"],
        }
        for _, r in summary.iterrows()
        for m in metrics
    ]
    rows += [
        {
            **blank,
            "section": "seeds",
            "item": r["variant"],
            "comparison": f"{r['variant']} − {GRAY}",
            "metric": "qssim",
            "estimate": r["delta_gray"],
            "lo": r["delta_gray_lo"],
            "hi": r["delta_gray_hi"],
            "n": len(str(r["seeds"]).split()),
        }
        for _, r in seeds.iterrows()
    ]
    return pd.DataFrame([ordered(r, RESULT_COLUMNS) for r in rows], columns=list(RESULT_COLUMNS))


SECTIONS = {
    "claims": (
        "The paper's claims, tested image by image",
        ["claim", "comparison", "paired Δ QSSIM [95% CI]", "win rate [95% CI]", "verdict"],
    ),
    "scores": ("Scores per system (variants: mean over seeds)", None),
    "seeds": (
        "Seeds",
        ["variant", "seeds", "QSSIM per seed", "mean ± sd", "Δ vs gray [CI over images and seeds]"],
    ),
}
NOTE = (
    "Paired Δ: mean over test images of (first − second), 95% BCa bootstrap interval. "
    "Win rate: share of images where the first scores higher, Wilson interval. Verdict: "
    "supported when the interval lies above 0, contradicted when below, else "
    "inconclusive. Scores: means with 95% BCa intervals over test images."
)


def write_results(claims, summary, seeds, metrics, setting: dict, out_md, out_tsv, out_html):
    """``results.md``, ``results.html`` and ``results.tsv`` from the study's tables."""
    score_header = ["system", "n"] + [METRIC_NAMES[m] for m in metrics]
    tables = [
        (*SECTIONS["claims"], _claim_rows(claims)),
        (SECTIONS["scores"][0], score_header, _score_rows(summary, metrics)),
        (*SECTIONS["seeds"], _seed_rows(seeds)),
        ("Settings", ["setting", "value"], [[k, str(v)] for k, v in setting.items()]),
    ]
    md = []
    for title, header, rows in tables:
        md += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        md += ["| " + " | ".join(r) + " |" for r in rows]
        md += ["", NOTE, ""] if title.startswith("The paper") else [""]
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(md))
    with atomic_path(out_html) as tmp:
        tmp.write_text(_html(tables))
    write_frame(tidy(claims, summary, seeds, metrics), out_tsv, RESULT_COLUMNS)


def _html(tables) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Results</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
        "margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        "th{background:#f3f3f3}</style></head><body>",
    ]
    for title, header, rows in tables:
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in header]
        parts.append("</tr>")
        for r in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
        parts.append("</table>")
        if title.startswith("The paper"):
            parts.append(f"<p>{html.escape(NOTE)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
