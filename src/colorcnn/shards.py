"""Sharded training data: decode, resize, convert to Y and UV, write memory-mappable ``.npy``.

A shard holds up to ``shard_size`` consecutive manifest rows:

- ``shard-KKKKK.Y.npy``   ``uint8 [N, H, W]``      grayscale (the network input)
- ``shard-KKKKK.UV.npy``  ``uint8 [N, 2, H, W]``   chroma (the target)
- ``shard-KKKKK.index.tsv``    which manifest rows were kept, in array order
- ``shard-KKKKK.rejected.tsv`` every dropped row with its reason code and detail

``np.load(path, mmap_mode="r")`` reads the arrays without copying. Shards are written through
temporary files and renamed into place, so an interrupted job never leaves a finished-looking
shard. Decoding runs on a thread pool (PIL and numpy release the GIL).
"""

from __future__ import annotations

import csv
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from .color import chroma_magnitude, rgb_to_y_uv_uint8
from .images import RESAMPLE, DecodeLimits, ImageRejected, load_rgb, resize_to_model
from .io import atomic_path
from .sampling import Entry, read_manifest

log = logging.getLogger(__name__)

SHARD_SUFFIXES = ("Y.npy", "UV.npy", "index.tsv", "rejected.tsv")


@dataclass(frozen=True)
class PrepareOptions:
    """How training images are turned into arrays.

    Parameters
    ----------
    image_size : int
        Side of the square model input (the paper: 224).
    resize : {"crop", "stretch"}
        ``crop``: shorter side to ``image_size``, centre square; ``stretch``: both sides.
    resample : {"bilinear", "bicubic", "lanczos"}
        Antialiased resampling filter.
    limits : DecodeLimits
        Minimum side and decompression-bomb threshold.
    min_chroma : float
        Images whose mean chroma magnitude (distance of UV from 128, in 8-bit levels, after
        resizing) is below this are rejected as near-grayscale: they teach the network nothing
        about colour.
    reduced_decode : bool
        Let the JPEG decoder skip detail the resize would throw away anyway.
    """

    image_size: int = 224
    resize: str = "crop"
    resample: str = "bilinear"
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    min_chroma: float = 2.0
    reduced_decode: bool = True

    def __post_init__(self):
        if self.image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {self.image_size}")
        if self.resize not in ("crop", "stretch"):
            raise ValueError(f"resize must be 'crop' or 'stretch', got {self.resize!r}")
        if self.resample not in RESAMPLE:
            raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, got {self.resample!r}")
        if self.min_chroma < 0:
            raise ValueError(f"min_chroma must be >= 0, got {self.min_chroma}")


def convert_image(path: str | Path, opts: PrepareOptions) -> tuple[np.ndarray, np.ndarray]:
    """Decode one training image into ``(Y [H, W], UV [2, H, W])`` ``uint8`` arrays.

    Raises :class:`~colorcnn.images.ImageRejected` for anything that must not be trained on.
    """
    s = opts.image_size
    im = load_rgb(path, opts.limits, draft_size=(s, s) if opts.reduced_decode else None)
    rgb = np.asarray(resize_to_model(im, s, opts.resize, opts.resample))
    y, uv = rgb_to_y_uv_uint8(rgb)
    chroma = chroma_magnitude(uv)
    if chroma == 0.0:
        raise ImageRejected("grayscale", "RGB file with equal channels (no chroma)")
    if chroma < opts.min_chroma:
        raise ImageRejected(
            "near_grayscale", f"mean chroma {chroma:.3f} < min_chroma {opts.min_chroma}"
        )
    return y, uv


def shard_count(n_images: int, shard_size: int) -> int:
    """Number of shards for ``n_images`` manifest rows (known before sampling runs)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    return max(1, math.ceil(n_images / shard_size))


def shard_paths(out_dir: str | Path, k: int) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {s.split(".")[0]: out_dir / f"shard-{k:05d}.{s}" for s in SHARD_SUFFIXES}


def prepare_shard(
    manifest: str | Path,
    k: int,
    shard_size: int,
    out: dict[str, str | Path],
    opts: PrepareOptions,
    threads: int = 1,
) -> dict[str, int]:
    """Convert manifest rows ``[k*shard_size, (k+1)*shard_size)`` into shard ``k``.

    ``out`` maps ``Y``, ``UV``, ``index`` and ``rejected`` to output paths. A shard past the end
    of the manifest (possible when ``allow_fewer`` took fewer images) is written empty.
    Returns counts ``{"kept": ..., "rejected": ...}``.
    """
    root, entries = read_manifest(manifest)
    rows = list(range(k * shard_size, min((k + 1) * shard_size, len(entries))))
    s = opts.image_size
    n = len(rows)
    tmp_y = Path(out["Y"]).with_name(f".tmp-{os.getpid()}-full-{Path(out['Y']).name}")
    tmp_uv = Path(out["UV"]).with_name(f".tmp-{os.getpid()}-full-{Path(out['UV']).name}")
    Path(out["Y"]).parent.mkdir(parents=True, exist_ok=True)
    y_all = open_memmap(tmp_y, mode="w+", dtype=np.uint8, shape=(n, s, s))
    uv_all = open_memmap(tmp_uv, mode="w+", dtype=np.uint8, shape=(n, 2, s, s))

    def work(i: int):
        e: Entry = entries[rows[i]]
        try:
            y_all[i], uv_all[i] = convert_image(root / e.path, opts)
            return None
        except ImageRejected as r:
            return r

    try:
        with ThreadPoolExecutor(max(1, threads)) as pool:
            results = list(pool.map(work, range(n), chunksize=16))
        kept = [i for i, r in enumerate(results) if r is None]
        _finish(y_all, tmp_y, kept, out["Y"])
        _finish(uv_all, tmp_uv, kept, out["UV"])
    finally:
        for t in (tmp_y, tmp_uv):
            t.unlink(missing_ok=True)

    with atomic_path(out["index"]) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(("row", "path", "class"))
        for i in kept:
            e = entries[rows[i]]
            w.writerow((rows[i], e.path, e.cls))
    rejected = [(rows[i], entries[rows[i]].path, r) for i, r in enumerate(results) if r is not None]
    write_rejected(out["rejected"], [(p, r.reason, r.detail) for _, p, r in rejected])
    for row, p, r in rejected:
        log.warning("rejected row %d %s: %s", row, p, r)
    log.info("shard %d: %d rows, %d kept, %d rejected", k, n, len(kept), len(rejected))
    return {"kept": len(kept), "rejected": len(rejected)}


def _finish(full: np.ndarray, full_path: Path, kept: list[int], dest) -> None:
    """Move the full array into place when every row was kept (the usual case: no copy);
    otherwise write only the kept rows."""
    if len(kept) == len(full):
        full.flush()
        os.replace(full_path, dest)
        return
    with atomic_path(dest) as tmp:
        arr = open_memmap(tmp, mode="w+", dtype=full.dtype, shape=(len(kept), *full.shape[1:]))
        # Copy in blocks so memory stays bounded for 4096-image shards.
        for a in range(0, len(kept), 256):
            arr[a : a + 256] = full[kept[a : a + 256]]
        arr.flush()
        del arr


def write_rejected(path: str | Path, rows) -> None:
    """Write a rejected-files TSV (``path``, ``reason``, ``detail``) atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(("path", "reason", "detail"))
        w.writerows(rows)


def load_shard(y_path: str | Path, uv_path: str | Path | None = None):
    """Memory-map a shard's arrays (no copy). ``uv_path`` defaults to the sibling file."""
    y_path = Path(y_path)
    uv_path = (
        Path(uv_path) if uv_path else y_path.with_name(y_path.name.replace(".Y.npy", ".UV.npy"))
    )
    y = np.load(y_path, mmap_mode="r")
    uv = np.load(uv_path, mmap_mode="r")
    if y.ndim != 3 or uv.shape != (y.shape[0], 2, *y.shape[1:]):
        raise ValueError(f"shard {y_path}: Y {y.shape} and UV {uv.shape} do not match")
    return y, uv
