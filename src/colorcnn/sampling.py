"""Seeded, order-independent selection of training images.

Every file is ranked within its class by a seeded hash of its relative path, so the selection
does not depend on the order in which the file system lists directories, and adding a class
does not reshuffle the others. Classes take turns (rank 0 of every class, then rank 1, ...),
which gives an exactly stratified sample (class counts differ by at most one) and lets small
classes fall short without unbalancing the rest.

Symbolic links are followed (a class folder may be a link); a link that points nowhere stays
in the listing, so that the prepare stage rejects it as ``missing`` with a reason instead of
the file vanishing without a word.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .layout import is_image_name
from .tables import MANIFEST_COLUMNS, read_rooted, write_tsv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One selected file: path relative to the dataset root, its class, its size in bytes
    (-1 when it cannot be read, e.g. a broken link)."""

    path: str
    cls: str
    bytes: int = -1


def seeded_rank_key(seed: int, text: str) -> bytes:
    """A stable pseudo-random sort key for ``text`` (BLAKE2b of the seed and the text). A file
    name that is not UTF-8 (kept by Python as surrogate escapes) hashes as its own bytes."""
    key = f"{seed}\0{text}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(key, digest_size=16).digest()


def walk_images(root: str | Path):
    """``(relative folder parts, file name)`` of every image file under ``root``, following
    links to folders (each real folder once, so link cycles end)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {root} is not a directory")
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root).parts
        for f in sorted(filenames):
            if is_image_name(f):
                yield rel, f


def list_class_tree(root: str | Path) -> dict[str, list[str]]:
    """Image files under ``root`` by class (the first-level folder; ``""`` for loose files).
    Paths are relative to ``root`` with forward slashes."""
    classes: dict[str, list[str]] = {}
    for parts, f in walk_images(root):
        classes.setdefault(parts[0] if parts else "", []).append("/".join((*parts, f)))
    return classes


def stratified_sample(
    classes: dict[str, list[str]],
    n: int,
    seed: int,
    *,
    allow_fewer: bool = False,
    held_out: int = 0,
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
    held_out : int
        How many of the ``n`` are the validation images (the manifest's last rows): named in
        a shortfall's message, and with ``allow_fewer`` an empty validation set is refused.

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
        asked = f"{n - held_out} + data.n_val_images {held_out} held out" if held_out else ""
        msg = f"asked for {n} images{f' (data.n_images {asked})' if asked else ''} but only "
        msg += f"{total} exist in {len(classes)} classes"
        lower = "data.n_images or data.n_val_images" if held_out else "data.n_images"
        if not allow_fewer:
            raise ValueError(f"{msg}; lower {lower} or set data.allow_fewer: true")
        val = max(0, total - (n - held_out))
        if held_out and val == 0:
            raise ValueError(
                f"{msg}: with allow_fewer every image would be a training image and the "
                f"validation set would be empty; lower data.n_images to at most "
                f"{max(0, total - held_out)} (or set data.n_val_images: 0 and train.val_every: 0)"
            )
        log.warning(
            "%s; taking all %d (allow_fewer is set)%s",
            msg,
            total,
            f", {val} of them held out for validation" if held_out else "",
        )
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

    def size(e: Entry) -> int:
        try:
            return (root / e.path).stat().st_size
        except OSError:  # a broken link: prepare lists it as missing
            return -1

    return [Entry(e.path, e.cls, size(e)) for e in entries]


def write_manifest(path: str | Path, entries: list[Entry], root: str | Path) -> None:
    """Write a manifest TSV (``path``, ``class``, ``bytes``) atomically, its dataset root as
    given in a ``# root:`` line (relative roots stay relative to the working directory)."""
    rows = ((e.path, e.cls, e.bytes) for e in entries)
    write_tsv(path, MANIFEST_COLUMNS, rows, {"root": Path(root).as_posix()})


def read_manifest(path: str | Path, rows: slice | None = None) -> tuple[Path, list[Entry]]:
    """Read a manifest written by :func:`write_manifest` (only ``rows`` if given);
    returns ``(root, entries)``."""
    root, rows = read_rooted(path, MANIFEST_COLUMNS, rows)
    return root, [Entry(r["path"], r["class"], int(r["bytes"])) for r in rows]


def sample_training_set(
    source: str,
    root: str | Path,
    n: int,
    seed: int,
    *,
    allow_fewer: bool = False,
    held_out: int = 0,
) -> tuple[Path, list[Entry]]:
    """Select training images from an ILSVRC-2012 train tree or any folder tree.

    ``source="ilsvrc"``: ``root`` is the ILSVRC-2012 folder (containing ``train/``) or its
    ``train/`` folder; classes are the ``nXXXXXXXX`` synset folders.
    ``source="folder"``: any tree; the class is the first-level subfolder.
    Returns the dataset root that manifest paths are relative to, and the entries.
    """
    if source not in ("ilsvrc", "folder"):
        raise ValueError(f"source must be 'ilsvrc' or 'folder', got {source!r}")
    root = Path(root)
    if source == "ilsvrc" and (root / "train").is_dir():
        root = root / "train"
    classes = list_class_tree(root)
    loose = classes.pop("", []) if source == "ilsvrc" else []
    if loose:
        log.warning("ignoring %d files directly under %s (not in a class folder)", len(loose), root)
    if source == "ilsvrc" and not classes:
        raise ValueError(f"{root} has no class folders: expected ILSVRC-2012 train/nXXXXXXXX/")
    n_files = sum(map(len, classes.values()))
    log.info("listed %d files in %d classes under %s", n_files, len(classes), root)
    entries = stratified_sample(classes, n, seed, allow_fewer=allow_fewer, held_out=held_out)
    return root, with_sizes(root, entries)
