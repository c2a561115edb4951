"""Figures and tables for ``reports/``: seaborn plots of the scores and the training run.

Every function takes tables (pandas DataFrames read from ``results/``) and writes one file, so
figures can be regenerated without retraining or re-running inference. Methods keep the same
colour everywhere (:data:`METHOD_COLORS`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import atomic_path  # noqa: E402

METHOD_ORDER = ("model", "mean_chroma", "gray")
METHOD_LABELS = {"model": "model (ours)", "mean_chroma": "mean chroma", "gray": "gray (U=V=128)"}
METHOD_COLORS = {"model": "#d95f02", "mean_chroma": "#7570b3", "gray": "#7f7f7f"}
DPI = 110


def _methods(df: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(df["method"]))
    return [m for m in METHOD_ORDER if m in present] + [m for m in present if m not in METHOD_ORDER]


def _palette(methods) -> dict:
    extra = iter(sns.color_palette("tab10"))
    return {m: METHOD_COLORS.get(m) or next(extra) for m in methods}


def _save(fig, path, dpi: int = DPI) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)


def _style():
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)


def training_curves(metrics: pd.DataFrame, out) -> None:
    """Loss, learning rate and throughput against the optimiser step."""
    _style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    backbone = str(metrics["backbone_weights"].iloc[0]) if len(metrics) else "?"
    for ax, col, label in zip(
        axes,
        ("loss", "lr", "images_per_s"),
        ("loss (mean over each log window)", "learning rate", "throughput"),
        strict=True,
    ):
        sns.lineplot(data=metrics, x="step", y=col, ax=ax, color=METHOD_COLORS["model"])
        ax.set(xlabel="step", ylabel={"images_per_s": "images / s"}.get(col, col), title=label)
    axes[1].set_yscale("log")
    fig.suptitle(f"Training run (backbone weights: {backbone})", y=1.03)
    _save(fig, out)


def qssim_distribution(scores: pd.DataFrame, out) -> None:
    """QSSIM of every test image, per method (box + points)."""
    _style()
    methods = _methods(scores)
    pal = _palette(methods)
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.9 * len(methods)))
    sns.boxplot(
        data=scores,
        x="qssim",
        y="method",
        order=methods,
        hue="method",
        palette=pal,
        ax=ax,
        width=0.5,
        fliersize=0,
        legend=False,
    )
    sns.stripplot(
        data=scores,
        x="qssim",
        y="method",
        order=methods,
        color="black",
        size=3,
        alpha=0.6,
        ax=ax,
        jitter=0.15,
    )
    ax.set(
        xlabel="QSSIM (higher is better)",
        ylabel="",
        title=f"QSSIM per test image ({scores['image'].nunique()} images)",
    )
    ax.set_yticks(range(len(methods)), [METHOD_LABELS.get(m, m) for m in methods])
    _save(fig, out)


def category_qssim(by_category: pd.DataFrame, out, k: int = 10) -> None:
    """Mean QSSIM per category with 95% intervals: the model's best and worst ``k`` categories,
    each beside the gray baseline."""
    _style()
    model = by_category[by_category["method"] == "model"].sort_values("qssim")
    cats = list(model["category"])
    if len(cats) > 2 * k:
        cats = cats[:k] + cats[-k:]
    methods = [m for m in _methods(by_category) if m in ("model", "gray")]
    pal = _palette(methods)
    sub = by_category[by_category["category"].isin(cats) & by_category["method"].isin(methods)]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.45 * len(cats)))
    ypos = {c: i for i, c in enumerate(cats)}
    off = {m: (j - (len(methods) - 1) / 2) * 0.3 for j, m in enumerate(methods)}
    for m in methods:
        d = sub[sub["method"] == m]
        y = np.array([ypos[c] for c in d["category"]]) + off[m]
        ax.errorbar(
            d["qssim"],
            y,
            xerr=[d["qssim"] - d["qssim_lo"], d["qssim_hi"] - d["qssim"]],
            fmt="o",
            color=pal[m],
            label=METHOD_LABELS.get(m, m),
            capsize=3,
        )
    ax.set_yticks(range(len(cats)), cats)
    ax.set(
        xlabel="mean QSSIM (95% bootstrap interval)",
        title="QSSIM per category"
        + (f": the model's {k} worst and {k} best" if len(model) > 2 * k else ""),
    )
    ax.legend(loc="lower right")
    _save(fig, out)


def qssim_vs_colourfulness(scores: pd.DataFrame, out) -> None:
    """Each image's QSSIM against the colourfulness of the colorization (and of the truth)."""
    _style()
    methods = _methods(scores)
    pal = _palette(methods)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in methods:
        d = scores[scores["method"] == m]
        ax.scatter(
            d["colourfulness"],
            d["qssim"],
            s=22,
            color=pal[m],
            alpha=0.8,
            label=METHOD_LABELS.get(m, m),
        )
    gt = scores.drop_duplicates("image")
    ax.scatter(
        gt["colourfulness_gt"],
        np.full(len(gt), 1.0),
        marker="|",
        s=120,
        color="black",
        label="ground truth (QSSIM 1)",
    )
    ax.set(
        xlabel="colourfulness (Hasler & Süsstrunk)",
        ylabel="QSSIM",
        title="QSSIM against the colourfulness of each output",
    )
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, out)


def _thumb(path, height: int = 160) -> np.ndarray:
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w = max(1, round(im.size[0] * height / im.size[1]))
    return np.asarray(im.resize((w, height), Image.Resampling.LANCZOS))


def example_grid(scores: pd.DataFrame, originals: dict, colorized: dict, out) -> None:
    """Gray input | model | ground truth for the best, median and worst test images by the
    model's QSSIM gain over the gray baseline."""
    from PIL import Image

    from .color import rgb_to_yuv

    _style()
    wide = scores.pivot_table(index="image", columns="method", values="qssim")
    gain = (wide["model"] - wide["gray"]).sort_values()
    picks = [
        ("worst", gain.index[0]),
        ("median", gain.index[len(gain) // 2]),
        ("best", gain.index[-1]),
    ]
    fig, axes = plt.subplots(len(picks), 3, figsize=(10, 3.1 * len(picks)), squeeze=False)
    for row, (label, image) in zip(axes, picks, strict=True):
        gt = _thumb(originals[image])
        y = rgb_to_yuv(gt)[..., 0]
        gray = np.clip(np.rint(np.repeat(y[..., None], 3, -1)), 0, 255).astype(np.uint8)
        model = np.asarray(Image.fromarray(_thumb(colorized[image])).resize(gt.shape[1::-1]))
        for ax, img, title in zip(
            row,
            (gray, model, gt),
            (
                f"{label}: gray input\nQSSIM {wide.loc[image, 'gray']:.3f}",
                f"model\nQSSIM {wide.loc[image, 'model']:.3f} (gain {gain[image]:+.3f})",
                f"ground truth\n{Path(image).name}",
            ),
            strict=True,
        ):
            ax.imshow(img)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    _save(fig, out, dpi=80)  # photographs: keep the committed PNG small


def _fmt(mean, lo, hi, digits=3) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def results_table(summary: pd.DataFrame, settings: dict, out_md, out_tsv) -> None:
    """Each method's metrics with 95% intervals, plus the run's settings (Markdown and TSV)."""
    methods = _methods(summary)
    s = summary.set_index("method").loc[methods].reset_index()
    with atomic_path(out_tsv) as tmp:
        s.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    lines = [
        "| method | n | QSSIM | SSIM | PSNR (dB) | colourfulness | colourfulness gap |",
        "|---|---:|---|---|---|---|---|",
    ]
    for _, r in s.iterrows():
        gap = _fmt(r["colourfulness_gap"], r["colourfulness_gap_lo"], r["colourfulness_gap_hi"], 1)
        lines.append(
            f"| {METHOD_LABELS.get(r['method'], r['method'])} | {int(r['n'])} "
            f"| {_fmt(r['qssim'], r['qssim_lo'], r['qssim_hi'])} "
            f"| {_fmt(r['ssim'], r['ssim_lo'], r['ssim_hi'])} "
            f"| {_fmt(r['psnr'], r['psnr_lo'], r['psnr_hi'], 2)} "
            f"| {_fmt(r['colourfulness'], r['colourfulness_lo'], r['colourfulness_hi'], 1)} "
            f"| {gap} |"
        )
    lines += [
        "",
        "Means with 95% percentile-bootstrap intervals over test images.",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in settings.items()]
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
