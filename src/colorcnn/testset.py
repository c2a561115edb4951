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
from .images import ImageRejected, drop_alpha, load_rgb, open_image, reject_gray
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


# --- ImageNet val: the literature's protocols ---------------------------------------------------

#: The test protocols: ``original`` (every image at its own resolution), and ImageNet val's
#: as the literature uses them: ``val5k`` (the first 5,000 files by name, centre crop to the
#: shorter side, then 256x256: CT2, DDColor's val5k) and ``val50k`` (all 50,000, resized to
#: 256x256 without a crop: DDColor, ColorFormer).
PROTOCOLS = ("original", "val5k", "val50k")
PROTOCOL_SIZE = 256
VAL5K = 5000
IMAGENET_CATEGORY = "imagenet_val"  # the flat folder has no categories
_VAL_NAME = r"ILSVRC2012_val_\d{8}\.JPEG"


def list_imagenet_val(root: str | Path, list_file: str | Path | None = None):
    """The ``ILSVRC2012_val_*.JPEG`` files of a flat folder (or those a list names, one file
    name a line), sorted by name, and the other files as rejected ``layout``."""
    import re

    root = Path(root)
    if list_file is not None:
        names, rejected = read_partition_list(list_file, root)
    else:
        names, rejected = sorted(p.name for p in root.iterdir() if not p.name.startswith(".")), []
    keep = []
    for n in names:
        if re.fullmatch(_VAL_NAME, n, re.IGNORECASE):
            keep.append(n)
        else:
            rejected.append((n, "layout", "not an ILSVRC2012_val_*.JPEG file of the val folder"))
    if not keep:
        raise ValueError(f"no ILSVRC2012_val_*.JPEG images found in {root}")
    return sorted(keep), rejected


def prepare_protocol_image(rgb: np.ndarray, protocol: str, size: int = PROTOCOL_SIZE):
    """The ground truth ``protocol`` scores against: ``val5k`` centre-crops to the shorter
    side, both resize to ``size`` x ``size`` (PIL bicubic, antialiased: our choice, the
    papers do not say)."""
    im = Image.fromarray(rgb)
    if protocol == "val5k":
        w, h = im.size
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        im = im.crop((left, top, left + s, top + s))
    elif protocol != "val50k":
        raise ValueError(f"protocol {protocol!r} prepares nothing")
    return np.asarray(im.resize((size, size), Image.BICUBIC))


def imagenet_val_test_set(
    root: str | Path,
    protocol: str,
    truth_dir: str | Path,
    *,
    list_file: str | Path | None = None,
    max_pixels: int = DecodeLimits().max_pixels,
    threads: int = 1,
):
    """The test set of an ImageNet val folder under ``protocol``: rows ``(path, category,
    width, height)`` and rejected ``(path, reason, detail)``. ``val5k`` and ``val50k`` write
    the prepared images to ``truth_dir`` as ``<name>.png`` (lossless), which the rows then
    name; ``original`` keeps every image where it is. Under val5k and val50k gray images
    stay in (the literature's sets include them; they are counted in the log); under
    ``original`` they are rejected as in the SUN protocol. An unreadable image is rejected
    and not replaced (the set is the literature's, less what cannot be read)."""
    from .files import atomic_path

    if protocol not in PROTOCOLS:
        raise ValueError(f"test.protocol must be one of {PROTOCOLS}, got {protocol!r}")
    root, truth_dir = Path(root), Path(truth_dir)
    names, rejected = list_imagenet_val(root, list_file)
    if protocol == "val5k":
        if len(names) < VAL5K:
            log.warning("val5k: only %d val images (not %d)", len(names), VAL5K)
        names = names[:VAL5K]
    limits = test_limits(max_pixels)

    def one(name: str):
        try:
            if protocol == "original":  # as the SUN protocol: a gray source is rejected
                rgb = np.asarray(load_rgb(root / name, limits))
            else:  # the literature's sets keep gray images: written as RGB, like the rest
                rgb = np.asarray(drop_alpha(open_image(root / name, limits)).convert("RGB"))
        except ImageRejected as e:
            return e
        gray = bool(np.ptp(rgb.astype(np.int16) - rgb[..., :1], axis=None) == 0)
        if protocol == "original":
            return name, rgb.shape[1], rgb.shape[0], gray
        dest = truth_dir / f"{Path(name).stem}.png"
        with atomic_path(dest) as tmp:
            Image.fromarray(prepare_protocol_image(rgb, protocol)).save(tmp, format="PNG")
        return dest.name, PROTOCOL_SIZE, PROTOCOL_SIZE, gray

    truth_dir.mkdir(parents=True, exist_ok=True)
    rows, n_gray = [], 0
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for name, r in zip(names, pool.map(one, names), strict=True):
            if isinstance(r, ImageRejected):
                rejected.append((name, r.reason, r.detail))
            else:
                rows.append((r[0], IMAGENET_CATEGORY, r[1], r[2]))
                n_gray += r[3]
    if not rows:
        raise ValueError(_empty_test_set(root, list_file, rejected, 0.0))
    log.info("%s: %d test images (%d of them gray, kept as the protocol has them), %d rejected",
             protocol, len(rows), n_gray, len(rejected))  # fmt: skip
    return rows, rejected


def write_gray_inputs(root, rows: list[dict], out_dir, *, threads: int = 1) -> list[Path]:
    """Each test image's gray version (:func:`~colorcnn.images.gray_version`: what every
    system colorizes) as ``<out_dir>/<path>.png``, named as ``colorcnn colorize`` names its
    outputs (so ``x.jpg`` and ``x.png`` in one folder stay two)."""
    from .images import gray_version, save_png
    from .layout import output_name

    def one(r: dict) -> Path:
        dest = Path(out_dir) / output_name(r["path"])
        save_png(dest, gray_version(Path(root) / r["path"]), compression=6)
        return dest

    with ThreadPoolExecutor(max(1, threads)) as pool:
        written = list(pool.map(one, rows))
    log.info("%d gray inputs written to %s", len(written), out_dir)
    return written
