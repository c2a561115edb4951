"""The systems of the study, in one registry: every table, figure, statistic and the report
reads their names, labels, colours and order from here.

A *system* is anything that colorizes every test image:

- a **variant** of the paper's network (one per ``study.variants`` entry, named after it; a
  variant trained with several seeds is averaged over its seeds image by image);
- an **external system** (``study.external``): another method's outputs, one image per test
  image, scored by the same code (:mod:`colorcnn.external`);
- a **baseline** (:data:`BASELINES`): chroma that needs no training, recombined with the test
  image's own full-resolution Y and scored by the same code. ``gray`` (U = V = 128: the input
  itself, which QSSIM already rates high, so every table shows it) and ``mean_chroma`` (the
  training set's mean U and V everywhere: what a network that learned nothing image-specific
  would output).

In ``scores.tsv`` a variant's rows have ``method = "model"`` and the variant and seed in their
own columns; a baseline's rows have its name as the method. Adding a baseline means adding
one :class:`Baseline` here. Standard library at import: the workflow reads the registry while
it builds the DAG.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

#: The ``method`` of a trained network's rows in ``scores.tsv``.
MODEL = "model"
#: The ``method`` of an external system's rows (another method's outputs, scored by the same
#: code; :mod:`colorcnn.external`): its name is in the ``variant`` column.
EXTERNAL = "external"
#: The baseline every comparison is anchored to.
GRAY = "gray"
#: Colours of the variants, in the order of the study (cycled beyond six).
VARIANT_COLORS = ("#d95f02", "#1b9e77", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")


@dataclass(frozen=True)
class Baseline:
    """A system computed from the test image and the training set's chroma statistics."""

    name: str
    label: str
    color: str
    claim: str  # the claim "the reference variant scores higher than this baseline"
    needs_stats: bool = False

    def chroma(self, stats: dict | None) -> tuple[float, float]:
        """The constant ``(U, V)`` of this baseline."""
        if self.name == GRAY:
            return 128.0, 128.0
        if stats is None:
            raise ValueError(f"the {self.name} baseline needs the training set's chroma stats")
        return float(stats["mean_u"]), float(stats["mean_v"])


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(GRAY, "gray (U=V=128)", "#7f7f7f", "the CNN colorizes better than gray"),
        Baseline(
            "mean_chroma",
            "mean chroma",
            "#7570b3",
            "better than a constant mean-chroma tint",
            needs_stats=True,
        ),
    )
}


def baseline_rgb(name: str, y, stats: dict | None = None):
    """RGB ``uint8`` of baseline ``name`` for full-resolution Y ``(H, W)`` (float, 0-255)."""
    import numpy as np

    from .color import quantize, yuv_to_rgb

    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {list(BASELINES)}")
    u, v = BASELINES[name].chroma(stats)
    yuv = np.stack([y, np.full_like(y, u), np.full_like(y, v)], axis=-1)
    return quantize(yuv_to_rgb(yuv))


def label(name: str) -> str:
    """How a system is named in tables and figures."""
    return BASELINES[name].label if name in BASELINES else name


def order(names) -> list[str]:
    """Variants in their order of appearance, then the baselines in registry order."""
    present = list(dict.fromkeys(names))
    return [s for s in present if s not in BASELINES] + [b for b in BASELINES if b in present]


def palette(names) -> dict[str, str]:
    """A colour per system: each baseline its own, variants from :data:`VARIANT_COLORS`."""
    names = list(names)
    variants = itertools.cycle(VARIANT_COLORS)
    return {n: BASELINES[n].color if n in BASELINES else next(variants) for n in names}


def system_scores(scores):
    """Long table with a ``system`` column: each variant averaged over its seeds image by
    image, then the external systems (by name), then the baselines' rows (registry order).
    The one place seeds are averaged."""
    import pandas as pd

    model = scores[scores["method"] == MODEL]
    metric_cols = [c for c in scores.columns if c not in ("method", "variant", "seed", "image")]
    numeric = [c for c in metric_cols if pd.api.types.is_numeric_dtype(scores[c])]
    avg = model.groupby(["variant", "image"], sort=False)[numeric].mean().reset_index()
    avg["category"] = avg["image"].map(
        scores.drop_duplicates("image").set_index("image")["category"]
    )
    avg = avg.rename(columns={"variant": "system"})
    ext = scores[scores["method"] == EXTERNAL].drop(columns="method")
    ext = ext.rename(columns={"variant": "system"})
    base = scores[~scores["method"].isin((MODEL, EXTERNAL))].rename(columns={"method": "system"})
    base = base[base["system"].isin(BASELINES)]
    return pd.concat([avg, ext[avg.columns], base[avg.columns]], ignore_index=True)


def per_image(scores, metric: str):
    """Images × systems table of ``metric`` (columns in :func:`order`). Images missing for any
    system are dropped (every system scores every image)."""
    long = system_scores(scores)
    wide = long.pivot_table(index="image", columns="system", values=metric)  # images sorted
    return wide[order(long["system"])].dropna()
