"""Any folder of another method's colorizations, scored by the same code as ours: the
study's external systems (``study.external``) and ``colorcnn evaluate``.

Matching: an output file belongs to the truth image whose path relative to the truth root,
without its extension, is the same (any image extension: ``a/abbey/x.jpg`` may be
``a/abbey/x.png`` there; ``x.jpg.png``, as ``colorcnn colorize`` names it, matches too).
Nothing is dropped silently: a truth image without an output is *missing*, an output that
matches no truth image is *unmatched*, two outputs for one image (``x.png`` and ``x.jpg``)
are *ambiguous*; :class:`Matching` lists each. An output of another size than its original
is resized to it (bilinear, with a warning) or refused (``resize=False``): other methods
often work at 256x256 or 512x512.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .systems import EXTERNAL

log = logging.getLogger(__name__)

#: The extensions an output (or a truth image) may have.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def image_key(rel: str) -> str:
    """The matching key of a path relative to its root: without the extension."""
    p = Path(rel)
    return str(p.with_suffix("")) if p.suffix.lower() in IMAGE_SUFFIXES else str(p)


def images_under(root: str | Path) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """``{key: path}`` of the image files under ``root`` (recursively, hidden files and the
    writers' ``.tmp-*`` leftovers skipped), and the keys that more than one file has."""
    root = Path(root)
    found: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if p.suffix.lower() in IMAGE_SUFFIXES:
            found.setdefault(image_key(rel.as_posix()), []).append(p)
    single = {k: v[0] for k, v in found.items() if len(v) == 1}
    several = {k: [str(p) for p in v] for k, v in found.items() if len(v) > 1}
    return single, several


@dataclass
class Matching:
    """Outputs matched to truth images; what did not match, listed."""

    pairs: list[tuple[str, Path]] = field(default_factory=list)  # (truth rel path, output)
    missing: list[str] = field(default_factory=list)  # truth images without an output
    unmatched: list[str] = field(default_factory=list)  # outputs without a truth image
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # key -> several outputs

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unmatched or self.ambiguous)

    def problems(self) -> str:
        """One line per kind of mismatch, with the first few names."""
        out = []
        for what, items in (
            ("missing (no output for the test image)", self.missing),
            ("unmatched (no test image of that name)", self.unmatched),
            ("ambiguous (several outputs for one test image)", list(self.ambiguous)),
        ):
            if items:
                more = f", ... ({len(items)} in all)" if len(items) > 5 else ""
                shown = ", ".join(items[:5]) + more
                out.append(f"{len(items)} {what}: {shown}")
        return "\n".join(out)


def match_outputs(outputs: str | Path, truths: list[str]) -> Matching:
    """Match the image files under ``outputs`` to ``truths`` (paths relative to the truth
    root, as the test set lists them)."""
    outputs = Path(outputs)
    if not outputs.is_dir():
        raise FileNotFoundError(f"{outputs} is not a folder of colorized images")
    found, several = images_under(outputs)
    m = Matching()
    used = set()
    for truth in truths:
        # x.jpg matches x.<any> and also x.jpg.<any> (colorcnn colorize's own naming)
        keys = list(dict.fromkeys((image_key(truth), truth)))
        hits = [k for k in keys if k in found]
        clash = [k for k in keys if k in several]
        used.update(hits + clash)
        if clash or len(hits) > 1:
            m.ambiguous[truth] = [str(found[k]) for k in hits] + sum(
                (several[k] for k in clash), []
            )
        elif hits:
            m.pairs.append((truth, found[hits[0]]))
        else:
            m.missing.append(truth)
    m.unmatched = sorted(str(found[k].relative_to(outputs)) for k in found if k not in used)
    return m


def external_jobs(
    name: str,
    outputs: str | Path,
    root: str | Path,
    rows: list[dict],
    *,
    resize: bool = True,
    resolution: str = "original",
    model_size: int = 224,
    require_all: bool = True,
):
    """The :class:`~colorcnn.scoring.ScoreJob` of each test image ``rows`` (``path``,
    ``category``, relative to ``root``) that the external system ``name`` has an output for in
    ``outputs`` (rows as the model's: ``method = external``, ``variant = name``), and the
    :class:`Matching`. With ``require_all`` a test image without an output (or with several)
    raises: every system of a study scores every test image, or its comparisons would be
    over other images."""
    from .scoring import ScoreJob

    m = match_outputs(outputs, [r["path"] for r in rows])
    if m.unmatched:
        log.warning("%s: %d files match no test image (not scored): %s", name, len(m.unmatched),
                    ", ".join(m.unmatched[:5]))  # fmt: skip
    if require_all and (m.missing or m.ambiguous):
        raise ValueError(f"external system {name!r} ({outputs}) does not match the test set:\n"
                         + m.problems())  # fmt: skip
    out = dict(m.pairs)
    jobs = [
        ScoreJob(
            r["path"],
            r["category"],
            str(Path(root) / r["path"]),
            prediction=str(out[r["path"]]),
            resolution=resolution,
            model_size=model_size,
            run={"variant": name, "seed": ""},
            method=EXTERNAL,
            fit_prediction=resize,
        )
        for r in rows
        if r["path"] in out
    ]
    return jobs, m


def score_external(name: str, outputs, root, rows, *, processes: int = 1, **matching):
    """Scores of the external system ``name`` on the test images ``rows`` and the
    :class:`Matching` (see :func:`external_jobs`, which takes the other arguments)."""
    from .scoring import score_all

    jobs, m = external_jobs(name, outputs, root, rows, **matching)
    return score_all(jobs, processes, progress=False), m


def truth_rows(truth: str | Path) -> list[dict]:
    """Every image under ``truth`` as a test-set row (its folder is its category)."""
    found, several = images_under(truth)
    if several:
        raise ValueError(f"{truth}: several images share a name without extension: "
                         f"{', '.join(list(several)[:5])}")  # fmt: skip
    rows = []
    for p in found.values():
        rel = p.relative_to(truth).as_posix()
        rows.append({"path": rel, "category": Path(rel).parent.name or "."})
    return rows


def evaluate_folder(
    outputs: str | Path,
    truth: str | Path,
    *,
    name: str = "outputs",
    resize: bool = True,
    stats: dict | None = None,
    processes: int = 1,
    n_boot: int = 2000,
):
    """``colorcnn evaluate``: score ``outputs`` against the originals under ``truth``, with the
    gray baseline (and mean chroma, given the training set's ``stats``) on the same images.
    Returns the scores (long), a summary (each system's means with 95% intervals), the paired
    comparison of ``name`` with gray per metric, and the :class:`Matching`."""
    import pandas as pd

    from .scoring import METRICS, ScoreJob, score_all
    from .study import paired, per_image, summarize
    from .systems import GRAY

    rows = truth_rows(truth)
    if not rows:
        raise ValueError(f"{truth}: no images")
    ours, m = score_external(
        name, outputs, truth, rows, resize=resize, processes=processes, require_all=False
    )
    scored = set(ours["image"])
    baselines = (GRAY, "mean_chroma") if stats else (GRAY,)
    jobs = [
        ScoreJob(
            r["path"], r["category"], str(Path(truth) / r["path"]), baselines=baselines, stats=stats
        )  # fmt: skip
        for r in rows
        if r["path"] in scored
    ]
    scores = pd.concat([ours, score_all(jobs, processes, progress=False)], ignore_index=True)
    if not len(ours):
        return scores, pd.DataFrame(), pd.DataFrame(), m
    summary = summarize(scores, METRICS, n_boot)
    vs_gray = []
    for metric in METRICS:
        wide = per_image(scores, metric)
        vs_gray.append({"metric": metric, **paired(wide[name], wide[GRAY], n_boot)})
    return scores, summary, pd.DataFrame(vs_gray), m


def category_mean(root: str | Path, rows: list[dict], out_dir: str | Path) -> list[Path]:
    """The builtin external system ``category_mean`` (a stand-in for another method, for the
    demo): each test image's own Y with, everywhere, the mean chroma (U, V) of the *other*
    test images of its category (of all the others where it is alone). It sees other test
    images' colours, which no real method may; it is there to exercise the external path."""
    import numpy as np

    from .color import quantize, rgb_to_yuv, yuv_to_rgb
    from .images import load_rgb, save_png
    from .layout import output_name

    def yuv(r):
        return rgb_to_yuv(np.asarray(load_rgb(Path(root) / r["path"])))

    # two passes, each image decoded twice: the first keeps only each image's mean chroma,
    # so memory stays one image whatever the size of the test set
    means = [yuv(r)[..., 1:].reshape(-1, 2).mean(0) for r in rows]
    cats = [r["category"] for r in rows]
    total = np.sum(means, axis=0)
    written = []
    for i, r in enumerate(rows):
        others = [m for j, m in enumerate(means) if cats[j] == cats[i] and j != i]
        uv = np.mean(others, axis=0) if others else (total - means[i]) / max(1, len(rows) - 1)
        y = yuv(r)[..., 0]
        rgb = quantize(
            yuv_to_rgb(np.stack([y, np.full_like(y, uv[0]), np.full_like(y, uv[1])], -1))
        )
        dest = Path(out_dir) / output_name(r["path"])
        save_png(dest, rgb, compression=6)  # Pillow's default level
        written.append(dest)
    log.info("category_mean: %d images written to %s", len(written), out_dir)
    return written
