"""Figures for ``reports/``: seaborn plots of the study's tables.

Every function takes tables (pandas DataFrames read from ``results/``) and writes one PNG, so
figures can be regenerated without retraining or re-running inference. Systems keep their
name, colour and order everywhere (:mod:`colorcnn.systems`). Random jitter is seeded, so a
figure is the same file on every run.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .color import rgb_to_yuv  # noqa: E402
from .files import atomic_path  # noqa: E402
from .systems import (  # noqa: E402
    BASELINES,
    GRAY,
    MODEL,
    baseline_rgb,
    label,
    palette,
    system_scores,  # noqa: E402
)
from .systems import order as system_order  # noqa: E402

DPI = 110


def _save(fig, path, dpi: int = DPI) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata={"Software": None})
    plt.close(fig)


def _style():
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)


def training_curves(metrics: pd.DataFrame, out) -> None:
    """Training and validation loss, learning rate and throughput against the step, one line
    per run (colour: variant; dashes: seed)."""
    _style()
    runs = list(dict.fromkeys(metrics["variant"]))
    pal = palette(runs)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), gridspec_kw={"wspace": 0.35})
    m = metrics.copy()
    m["seed"] = m["seed"].astype(str)

    def lines(data, y, ax, legend=False, **kw):  # one line per run
        sns.lineplot(
            data=data,
            x="step",
            y=y,
            hue="variant",
            style="seed",
            palette=pal,
            ax=ax,
            legend=legend,
            **kw,
        )

    lines(m.dropna(subset=["loss"]), "loss", axes[0], legend=True)
    val = m.dropna(subset=["val_loss"])
    if len(val):
        lines(val, "val_loss", axes[0], marker="o", linewidth=2.5)
    axes[0].set(ylabel="loss", title="loss: training (lines), held-out (dots)")
    lines(m, "lr", axes[1], drawstyle="steps-post")
    axes[1].set(ylabel="learning rate", title="learning rate (step decay)")
    axes[1].set_ylim(0, m["lr"].max() * 1.1)
    lines(m.dropna(subset=["images_per_s"]), "images_per_s", axes[2])
    axes[2].set(ylabel="images / s", title="throughput")
    sns.move_legend(axes[0], "upper left", bbox_to_anchor=(0, -0.18), ncol=4, frameon=False)
    backbone = ", ".join(sorted(set(metrics["backbone_weights"].astype(str))))
    fig.suptitle(f"Training (backbone weights: {backbone})", y=1.03)
    _save(fig, out)


def qssim_distribution(scores: pd.DataFrame, out) -> None:
    """QSSIM of every test image per system (box + seeded jittered points)."""
    _style()
    df = system_scores(scores)
    order = system_order(df["system"])
    pal = palette(order)
    fig, ax = plt.subplots(figsize=(7.5, 1.0 + 0.8 * len(order)))
    sns.boxplot(
        data=df,
        x="qssim",
        y="system",
        order=order,
        hue="system",
        palette=pal,
        ax=ax,
        width=0.5,
        fliersize=0,
        legend=False,
    )
    rng = np.random.default_rng(0)
    ypos = df["system"].map({s: i for i, s in enumerate(order)}).to_numpy(float)
    ax.scatter(
        df["qssim"],
        ypos + rng.uniform(-0.15, 0.15, len(df)),
        s=8,
        color="black",
        alpha=0.5,
        linewidths=0,
    )
    ax.set_yticks(range(len(order)), [label(s) for s in order])
    ax.set(
        xlabel="QSSIM (higher is better)",
        ylabel="",
        title=f"QSSIM per test image ({df['image'].nunique()} images; variants: mean over seeds)",
    )
    _save(fig, out)


def paired_deltas(claims: pd.DataFrame, out) -> None:
    """Each claim's paired Δ QSSIM with its 95% BCa interval; zero marked."""
    _style()
    c = claims.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.45 * len(c)))
    colors = c["verdict"].map({"supported": "#1b9e77", "contradicted": "#d95f02"}).fillna("#555555")
    for i, r in c.iterrows():
        err = [[r["delta"] - r["lo"]], [r["hi"] - r["delta"]]]
        ax.errorbar(r["delta"], i, xerr=err, fmt="o", color=colors[i], capsize=3)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(
        c.index, [f"{a}  ({b})" for a, b in zip(c["comparison"], c["verdict"], strict=True)]
    )
    ax.set(
        xlabel="paired Δ QSSIM, mean over test images (95% BCa interval)",
        ylabel="comparison",
        title="The paper's claims, image by image",
    )
    _save(fig, out)


def model_vs_gray(scores: pd.DataFrame, reference: str, out) -> None:
    """Per test image: the reference model's QSSIM against gray's (above the diagonal: the
    model wins); a hexbin density when there are many images."""
    _style()
    df = system_scores(scores)
    wide = df.pivot_table(index="image", columns="system", values="qssim").dropna()
    x, y = wide[GRAY], wide[reference]
    fig, ax = plt.subplots(figsize=(5.2, 5))
    if len(wide) > 500:
        hb = ax.hexbin(x, y, gridsize=40, cmap="viridis", mincnt=1)
        fig.colorbar(hb, ax=ax, label="images")
    else:
        ax.scatter(x, y, s=18, color=palette([reference])[reference], alpha=0.8)
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1)
    wins = float((y > x).mean())
    ax.set(
        xlabel=f"QSSIM of {label(GRAY)}",
        ylabel=f"QSSIM of {reference}",
        title=f"{reference} vs gray: wins on {wins:.0%} of {len(wide)} images",
    )
    _save(fig, out)


def seed_spread(scores: pd.DataFrame, out) -> None:
    """Mean QSSIM of each run (dot per seed) per variant, and gray's, as a reference line."""
    _style()
    model = scores[scores["method"] == MODEL]
    runs = model.groupby(["variant", "seed"], sort=False)["qssim"].mean().reset_index()
    order = list(dict.fromkeys(runs["variant"]))
    pal = palette(order)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.6 * len(order)))
    sns.stripplot(
        data=runs,
        x="qssim",
        y="variant",
        order=order,
        hue="variant",
        palette=pal,
        ax=ax,
        size=8,
        jitter=False,
        legend=False,
    )
    gray = scores.loc[scores["method"] == GRAY, "qssim"].mean()
    ax.axvline(gray, color=BASELINES[GRAY].color, linestyle="--", label=label(GRAY))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    n_seeds = runs.groupby("variant")["seed"].nunique().max()
    ax.set(
        xlabel="mean QSSIM over the test images",
        ylabel="variant",
        title=f"Runs per variant ({n_seeds} seeds each): the spread is the seed's effect",
    )
    _save(fig, out)


def category_qssim(by_category: pd.DataFrame, a: str, b: str, out, k: int = 10) -> None:
    """Paired Δ QSSIM (``a − b``) per test category with 95% intervals: all categories, or
    the ``k`` lowest and highest when there are many."""
    _style()
    d = by_category.sort_values("delta").reset_index(drop=True)
    if len(d) > 2 * k:
        d = pd.concat([d.head(k), d.tail(k)], ignore_index=True)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.4 * len(d)))
    ax.errorbar(
        d["delta"],
        d.index,
        xerr=[d["delta"] - d["lo"], d["hi"] - d["delta"]],
        fmt="o",
        color=palette([a])[a],
        capsize=3,
    )
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(d.index, d["category"])
    extra = f": the {k} lowest and {k} highest" if len(by_category) > 2 * k else ""
    ax.set(
        xlabel=f"paired Δ QSSIM, {a} − {b} (95% BCa interval)",
        ylabel="test category",
        title=f"Per category{extra}",
    )
    _save(fig, out)


def qssim_vs_colourfulness(scores: pd.DataFrame, out) -> None:
    """Each image's QSSIM against the colourfulness of each system's output (and the truth's)."""
    _style()
    df = system_scores(scores)
    order = system_order(df["system"])
    pal = palette(order)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in order:
        d = df[df["system"] == s]
        ax.scatter(d["colourfulness"], d["qssim"], s=18, color=pal[s], alpha=0.8, label=label(s))
    gt = df.drop_duplicates("image")
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
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    _save(fig, out)


def _thumb(path, height: int = 160) -> np.ndarray:
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w = max(1, round(im.size[0] * height / im.size[1]))
    return np.asarray(im.resize((w, height), Image.Resampling.LANCZOS))


def example_picks(scores: pd.DataFrame) -> list[tuple[str, str]]:
    """``(kind, image)`` for the worst, median and best QSSIM gain of the model over gray
    (scores of one run of the model and the baselines)."""
    model = scores[scores["method"] == MODEL].set_index("image")["qssim"]
    gray = scores[scores["method"] == GRAY].set_index("image")["qssim"]
    gain = (model - gray.reindex(model.index)).dropna().sort_values()
    return [
        ("worst", gain.index[0]),
        ("median", gain.index[len(gain) // 2]),
        ("best", gain.index[-1]),
    ]


def example_grid(scores: pd.DataFrame, originals: dict, colorized: dict, out) -> None:
    """Gray input | model | ground truth for the test images where one run of the model gains
    least, a median amount, and most QSSIM over gray (:func:`example_picks`)."""
    from PIL import Image

    _style()
    model = scores[scores["method"] == MODEL].set_index("image")["qssim"]
    gray = scores[scores["method"] == GRAY].set_index("image")["qssim"]
    picks = example_picks(scores)
    fig, axes = plt.subplots(len(picks), 3, figsize=(10, 3.1 * len(picks)), squeeze=False)
    for row, (kind, image) in zip(axes, picks, strict=True):
        gt = _thumb(originals[image])
        gray_img = baseline_rgb(GRAY, rgb_to_yuv(gt)[..., 0])
        pred = np.asarray(Image.fromarray(_thumb(colorized[image])).resize(gt.shape[1::-1]))
        titles = (
            f"{kind}: gray input\nQSSIM {gray[image]:.3f}",
            f"model\nQSSIM {model[image]:.3f} (gain {model[image] - gray[image]:+.3f})",
            f"ground truth\n{Path(image).name}",
        )
        for ax, img, title in zip(row, (gray_img, pred, gt), titles, strict=True):
            ax.imshow(img)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    _save(fig, out, dpi=80)  # photographs: keep the committed PNG small
