"""Choosing the SUN397 test images: per category, in seeded-hash order, usable ones only.

SUN397 lays images out as ``<letter>/<category>[/<sub>]/sun_*.jpg``; the category is the path
between the letter and the file (``apartment_building/outdoor``). Every candidate is decoded
(at reduced size) before it is accepted; a gray, near-gray, unreadable or too small one (QSSIM
needs at least its 11×11 window) is listed with its reason and replaced by the category's next
candidate. Files that do not sit in a category folder are listed as ``layout``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from .color import rgb_to_y_uv_uint8
from .config import DecodeLimits
from .images import ImageRejected, load_rgb, reject_gray
from .metrics import WINDOW_SIZE
from .sampling import seeded_rank_key, walk_images

log = logging.getLogger(__name__)


def sun_category(rel_path: str) -> str:
    """Category of a SUN397 path: ``a/abbey/sun_x.jpg`` → ``abbey``;
    ``a/apartment_building/outdoor/sun_x.jpg`` → ``apartment_building/outdoor``."""
    parts = rel_path.strip("/").split("/")
    if len(parts) < 3 or len(parts[0]) != 1:
        raise ValueError(f"{rel_path!r} is not a SUN397 path (<letter>/<category>[/<sub>]/<file>)")
    return "/".join(parts[1:-1])


def list_sun(root: str | Path, list_file: str | Path | None = None):
    """SUN397 images by category, and the files that are not in a category folder.

    Every image under ``root``, or those named in an official partition file
    (``Partitions/Testing_01.txt`` format: one ``/a/abbey/sun_x.jpg`` a line). Returns
    ``(categories, misplaced)``: ``{category: [relative paths]}`` and ``[(path, reason,
    detail)]``.
    """
    root = Path(root)
    if list_file is not None:
        if not root.is_dir():
            raise FileNotFoundError(f"SUN397 root {root} is not a directory")
        paths, misplaced = read_partition_list(list_file, root)
    else:
        paths, misplaced = ["/".join((*parts, f)) for parts, f in walk_images(root)], []
    cats: dict[str, list[str]] = {}
    for p in paths:
        try:
            cats.setdefault(sun_category(p), []).append(p)
        except ValueError as e:
            misplaced.append((p, "layout", str(e)))
    if not cats:
        raise ValueError(f"no SUN397 images found under {root}")
    return cats, misplaced


def read_partition_list(list_file: str | Path, root: Path) -> tuple[list[str], list[tuple]]:
    """The paths an official partition list names, relative to ``root``, each once, in order.

    Normalised as real list files need: a UTF-8 byte-order mark and Windows line ends are
    dropped, a line that repeats an earlier one is dropped (it would put an image in the
    test set twice), an absolute path under ``root`` is taken relative to it, and a line
    with a ``..`` segment (it would climb out of the root, and the output out of
    ``colorize/images/``) is refused with reason ``layout``. Names that are not UTF-8 are
    kept as their bytes."""
    text = Path(list_file).read_text(encoding="utf-8-sig", errors="surrogateescape")
    prefix = str(root).rstrip("/") + "/"
    paths, refused, seen = [], [], set()
    for line in text.splitlines():
        p = line.strip()
        if p.startswith(prefix):
            p = p[len(prefix) :]
        p = p.lstrip("/")
        if not p or p in seen:
            continue
        seen.add(p)
        if ".." in p.split("/"):
            refused.append((p, "layout", f"a '..' segment leaves the root ({list_file})"))
        else:
            paths.append(p)
    return paths, refused


def test_limits(max_pixels: int) -> DecodeLimits:
    """A test image must be at least as large as QSSIM's window on its shorter side."""
    return DecodeLimits(min_side=WINDOW_SIZE, max_pixels=max_pixels)


def check_candidate(path: Path, limits: DecodeLimits, min_chroma: float) -> tuple[int, int]:
    """``(width, height)`` of a usable test image; raises :class:`ImageRejected` otherwise."""
    im = load_rgb(path, limits, draft_size=(64, 64))
    reject_gray(rgb_to_y_uv_uint8(np.asarray(im))[1], min_chroma)
    with Image.open(path) as header:
        w, h = header.size
        if header.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF rotation by 90 or 270°
            w, h = h, w
    return w, h


def sample_test_set(
    root: str | Path,
    n_per_category: int,
    seed: int,
    *,
    list_file: str | Path | None = None,
    min_chroma: float = 1.0,
    max_pixels: int = DecodeLimits().max_pixels,
    threads: int = 1,
) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, str, str]]]:
    """Choose up to ``n_per_category`` usable test images per SUN397 category.

    Returns ``(rows, rejected)``: rows ``(path, category, width, height)`` sorted by category
    then seeded rank, and rejected ``(path, reason, detail)``.
    """
    if n_per_category < 1:
        raise ValueError(f"test.n_per_category must be >= 1, got {n_per_category}")
    root = Path(root)
    cats, rejected = list_sun(root, list_file)
    limits = test_limits(max_pixels)
    ranked = {c: sorted(v, key=lambda p: seeded_rank_key(seed, p)) for c, v in cats.items()}

    def check(rel: str):
        try:
            return check_candidate(root / rel, limits, min_chroma)
        except ImageRejected as e:
            return e

    rows = []
    pos = dict.fromkeys(ranked, 0)
    need = dict.fromkeys(ranked, n_per_category)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        while todo := _next_candidates(ranked, pos, need):
            for (c, p), r in zip(todo, pool.map(lambda cp: check(cp[1]), todo), strict=True):
                if isinstance(r, tuple):
                    rows.append((p, c, *r))
                    need[c] -= 1
                else:
                    rejected.append((p, r.reason, r.detail))
    if not rows:
        raise ValueError(_empty_test_set(root, list_file, rejected, min_chroma))
    _report_shortfall(need, n_per_category, len(ranked))
    rows.sort(key=lambda r: (r[1], seeded_rank_key(seed, r[0])))
    return rows, rejected


def _empty_test_set(root, list_file, rejected, min_chroma: float) -> str:
    """Why no test image is usable, and what to change (colorize and score would run on
    nothing and the study would fail far from the cause)."""
    from collections import Counter

    counts = Counter(reason for _, reason, _ in rejected)
    why = ", ".join(f"{r}: {n}" for r, n in counts.most_common())
    where = f"{root}" + (f" (list {list_file})" if list_file else "")
    examples = "; ".join(f"{p}: {reason} ({detail})" for p, reason, detail in rejected[:5])
    return (
        f"no usable test image under {where}: {len(rejected)} rejected ({why}), e.g. "
        f"{examples}. Point test.root (or test.list_file) at colour photographs; for "
        f"near-gray ones lower test.min_chroma (now {min_chroma})."
    )


def _next_candidates(ranked, pos, need) -> list[tuple[str, str]]:
    todo = []
    for c in sorted(ranked):
        k = min(need[c], len(ranked[c]) - pos[c])
        todo += [(c, p) for p in ranked[c][pos[c] : pos[c] + k]]
        pos[c] += k
    return todo


def _report_shortfall(need: dict, n_per_category: int, n_categories: int) -> None:
    empty = sorted(c for c, n in need.items() if n == n_per_category)
    short = sorted(c for c, n in need.items() if 0 < n < n_per_category)
    for cats, what in (
        (empty, f"of {n_categories} categories have no usable test image (see the rejected table)"),
        (short, f"categories have fewer than {n_per_category} usable images"),
    ):
        if cats:
            log.warning("%d %s: %s", len(cats), what, ", ".join(cats[:20]))
