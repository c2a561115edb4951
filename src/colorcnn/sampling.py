"""Seeded, order-independent selection of training and test images.

Every file is ranked within its class by a seeded hash of its relative path, so the selection
does not depend on the order in which the file system lists directories, and adding a class
does not reshuffle the others. Classes take turns (rank 0 of every class, then rank 1, ...),
which gives an exactly stratified sample (class counts differ by at most one) and lets small
classes fall short without unbalancing the rest.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: File extensions considered images when listing folders (case-insensitive).
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MANIFEST_COLUMNS = ("path", "class", "bytes")


@dataclass(frozen=True)
class Entry:
    """One selected file: path relative to the dataset root, its class, its size in bytes."""

    path: str
    cls: str
    bytes: int = -1


def seeded_rank_key(seed: int, text: str) -> bytes:
    """A stable pseudo-random sort key for ``text`` (BLAKE2b of the seed and the text)."""
    return hashlib.blake2b(f"{seed}\0{text}".encode(), digest_size=16).digest()


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def list_class_tree(root: str | Path, *, depth: int | None = 1) -> dict[str, list[str]]:
    """List image files under ``root`` grouped by class.

    The class of a file is its directory relative to ``root`` (``depth=None``) or the first
    ``depth`` components of it. Files directly under ``root`` get the class ``""``.
    Paths are returned relative to ``root`` with forward slashes.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {root} is not a directory")
    classes: dict[str, list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        parts = rel_dir.split("/") if rel_dir else []
        cls = "/".join(parts if depth is None else parts[:depth])
        for f in filenames:
            if _is_image(f):
                classes.setdefault(cls, []).append(f"{rel_dir}/{f}" if rel_dir else f)
    return classes


def stratified_sample(
    classes: dict[str, list[str]], n: int, seed: int, *, allow_fewer: bool = False
) -> list[Entry]:
    """Choose ``n`` files, round-robin over classes in seeded-hash order.

    Parameters
    ----------
    classes : dict
        Class name → relative paths (any order).
    n : int
        How many to choose. ``n`` larger than the number of files raises, unless
        ``allow_fewer`` (then all files are taken and a warning is logged).
    seed : int
        Seed of the ranking hash.

    Returns
    -------
    list of Entry
        In selection order: round ``r`` holds the rank-``r`` file of each class that has one,
        classes ordered by their own seeded hash.
    """
    if n < 1:
        raise ValueError(f"number of images must be >= 1, got {n}")
    total = sum(len(v) for v in classes.values())
    if total == 0:
        raise ValueError("no image files found to sample from")
    if n > total:
        msg = f"asked for {n} images but only {total} exist in {len(classes)} classes"
        if not allow_fewer:
            raise ValueError(msg + "; lower the count or set allow_fewer: true")
        log.warning("%s; taking all %d (allow_fewer is set)", msg, total)
        n = total
    ranked = {
        c: sorted(paths, key=lambda p: seeded_rank_key(seed, p)) for c, paths in classes.items()
    }
    order = sorted(ranked, key=lambda c: seeded_rank_key(seed, "class:" + c))
    chosen: list[Entry] = []
    r = 0
    while len(chosen) < n:
        for c in order:
            if r < len(ranked[c]):
                chosen.append(Entry(ranked[c][r], c))
                if len(chosen) == n:
                    break
        r += 1
    return chosen


def with_sizes(root: str | Path, entries: list[Entry]) -> list[Entry]:
    """Fill in file sizes (one ``stat`` per chosen file, not per listed file)."""
    root = Path(root)
    return [Entry(e.path, e.cls, (root / e.path).stat().st_size) for e in entries]


def write_manifest(path: str | Path, entries: list[Entry], root: str | Path) -> None:
    """Write a manifest TSV (``path``, ``class``, ``bytes``) atomically.

    The first line is a comment ``# root: <dir>`` holding the dataset root as given (relative
    roots stay relative to the workflow's working directory, so manifests are portable).
    """
    write_table(path, root, MANIFEST_COLUMNS, ((e.path, e.cls, e.bytes) for e in entries))


def read_manifest(path: str | Path) -> tuple[Path, list[Entry]]:
    """Read a manifest written by :func:`write_manifest`; returns ``(root, entries)``."""
    root, rows = read_table(path, MANIFEST_COLUMNS, what="manifest")
    return root, [Entry(r["path"], r["class"], int(r["bytes"])) for r in rows]


def sample_training_set(
    source: str, root: str | Path, n: int, seed: int, *, allow_fewer: bool = False
) -> tuple[Path, list[Entry]]:
    """Select training images from an ILSVRC-2012 train tree or any folder tree.

    ``source="ilsvrc"``: ``root`` is the ILSVRC-2012 folder (containing ``train/``) or its
    ``train/`` folder; classes are the ``nXXXXXXXX`` synset folders.
    ``source="folder"``: any tree; the class is the first-level subfolder.
    Returns the dataset root that manifest paths are relative to, and the entries.
    """
    root = Path(root)
    if source == "ilsvrc":
        if (root / "train").is_dir():
            root = root / "train"
        classes = list_class_tree(root, depth=1)
        loose = classes.pop("", [])
        if loose:
            log.warning(
                "ignoring %d files directly under %s (not in a class folder)", len(loose), root
            )
        if not classes:
            raise ValueError(f"{root} has no class folders: expected ILSVRC-2012 train/nXXXXXXXX/")
    elif source == "folder":
        classes = list_class_tree(root, depth=1)
    else:
        raise ValueError(f"source must be 'ilsvrc' or 'folder', got {source!r}")
    log.info(
        "listed %d files in %d classes under %s",
        sum(map(len, classes.values())),
        len(classes),
        root,
    )
    entries = stratified_sample(classes, n, seed, allow_fewer=allow_fewer)
    return root, with_sizes(root, entries)


# --- SUN397 test images ------------------------------------------------------------------

TEST_COLUMNS = ("path", "category", "width", "height")


def sun_category(rel_path: str) -> str:
    """Category of a SUN397 path: ``a/abbey/sun_x.jpg`` → ``abbey``;
    ``a/apartment_building/outdoor/sun_x.jpg`` → ``apartment_building/outdoor``."""
    parts = rel_path.strip("/").split("/")
    if len(parts) < 3 or len(parts[0]) != 1:
        raise ValueError(f"{rel_path!r} is not a SUN397 path (<letter>/<category>[/<sub>]/<file>)")
    return "/".join(parts[1:-1])


def list_sun(root: str | Path, list_file: str | Path | None = None) -> dict[str, list[str]]:
    """SUN397 images by category: every image under ``root``, or those named in an official
    partition file (``Partitions/Testing_01.txt`` format: one ``/a/abbey/sun_x.jpg`` a line)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"SUN397 root {root} is not a directory")
    if list_file is not None:
        paths = [ln.strip().lstrip("/") for ln in Path(list_file).read_text().splitlines()]
        paths = [p for p in paths if p]
    else:
        paths = [p for v in list_class_tree(root, depth=None).values() for p in v]
    cats: dict[str, list[str]] = {}
    for p in paths:
        cats.setdefault(sun_category(p), []).append(p)
    if not cats:
        raise ValueError(f"no SUN397 images found under {root}")
    return cats


def sample_test_set(
    root: str | Path,
    n_per_category: int,
    seed: int,
    *,
    list_file: str | Path | None = None,
    min_chroma: float = 1.0,
    limits=None,
    threads: int = 1,
) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, str, str]]]:
    """Choose up to ``n_per_category`` usable test images per SUN397 category.

    Files are taken in seeded-hash order within each category; each candidate is decoded (at
    reduced size) and rejected with a reason if unreadable, gray or near-gray, in which case
    the next one is tried. Returns ``(rows, rejected)``: rows ``(path, category, width,
    height)`` and rejected ``(path, reason, detail)``.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .color import chroma_magnitude, rgb_to_y_uv_uint8
    from .images import DecodeLimits, ImageRejected, load_rgb

    if n_per_category < 1:
        raise ValueError(f"test.n_per_category must be >= 1, got {n_per_category}")
    limits = limits or DecodeLimits()
    root = Path(root)
    cats = list_sun(root, list_file)
    ranked = {c: sorted(v, key=lambda p: seeded_rank_key(seed, p)) for c, v in cats.items()}

    def check(rel: str):
        try:
            im = load_rgb(root / rel, limits, draft_size=(64, 64))
            size = _original_size(root / rel)
            chroma = chroma_magnitude(rgb_to_y_uv_uint8(np.asarray(im.convert("RGB")))[1])
            if chroma < min_chroma:
                reason = "grayscale" if chroma == 0 else "near_grayscale"
                raise ImageRejected(reason, f"mean chroma {chroma:.3f} < min_chroma {min_chroma}")
            return size
        except ImageRejected as e:
            return e

    rows, rejected = [], []
    pos = dict.fromkeys(ranked, 0)
    need = dict.fromkeys(ranked, n_per_category)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        while True:
            todo = []
            for c in sorted(ranked):
                k = min(need[c], len(ranked[c]) - pos[c])
                todo += [(c, p) for p in ranked[c][pos[c] : pos[c] + k]]
                pos[c] += k
            if not todo:
                break
            for (c, p), r in zip(todo, pool.map(lambda cp: check(cp[1]), todo), strict=True):
                if isinstance(r, tuple):
                    rows.append((p, c, *r))
                    need[c] -= 1
                else:
                    rejected.append((p, r.reason, r.detail))
    short = {c: n for c, n in need.items() if n > 0}
    if short:
        log.warning(
            "%d categories have fewer than %d usable images: %s",
            len(short),
            n_per_category,
            ", ".join(sorted(short)[:10]),
        )
    rows.sort(key=lambda r: (r[1], seeded_rank_key(seed, r[0])))
    return rows, rejected


def _original_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF rotation by 90 or 270 degrees
            w, h = h, w
    return w, h


def write_table(path: str | Path, root: str | Path, columns, rows) -> None:
    """Write a TSV whose first line is ``# root: <dir>`` (the root as given), atomically."""
    from .io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(f"# root: {Path(root).as_posix()}\n")
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)


def read_table(path: str | Path, columns=None, what: str = "table") -> tuple[Path, list[dict]]:
    """Read a table written by :func:`write_table`: ``(root, rows as dicts)``; with
    ``columns``, the header must be exactly those."""
    with open(path, newline="") as f:
        first = f.readline()
        if not first.startswith("# root: "):
            raise ValueError(f"{path} is not a {what}: first line must be '# root: <dir>'")
        reader = csv.DictReader(f, delimiter="\t")
        if columns is not None and tuple(reader.fieldnames or ()) != tuple(columns):
            raise ValueError(f"{path}: header {reader.fieldnames}, expected {list(columns)}")
        return Path(first[len("# root: ") :].rstrip("\n")), list(reader)
