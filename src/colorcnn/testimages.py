"""Generated test images, for the test suite and the benchmarks (no dataset needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def natural_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, colourful uint8 RGB image (gradients plus mild noise), like a photograph's
    statistics at a glance."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack(
        [
            0.5 + 0.4 * np.sin(6 * xx + rng.uniform(0, 6)),
            0.5 + 0.4 * np.cos(5 * yy + rng.uniform(0, 6)),
            0.5 + 0.4 * np.sin(4 * (xx + yy) + rng.uniform(0, 6)),
        ],
        axis=-1,
    )
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def save_jpeg(path: Path, h: int = 120, w: int = 160, seed: int = 0, **kw) -> Path:
    """Write :func:`natural_rgb` as a JPEG (quality 90); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(natural_rgb(h, w, seed)).save(path, format="JPEG", quality=90, **kw)
    return path


def write_shards(directory: Path, n: int, size: int = 16, per_shard: int = 5, seed: int = 0):
    """Shards of ``n`` :func:`natural_rgb` images at ``size`` px, as the prepare stage writes
    them (arrays and index tables with digests); returns ``(Y paths, UV paths, index paths)``.
    Manifest rows are numbered from 0 across shards."""
    from .color import rgb_to_y_uv_uint8
    from .shards import ShardFiles, write_arrays

    directory = Path(directory)
    out = ([], [], [])
    for k in range(-(-n // per_shard)):
        rows = range(k * per_shard, min(n, (k + 1) * per_shard))
        pairs = [rgb_to_y_uv_uint8(natural_rgb(size, size, seed=seed * 100_003 + r)) for r in rows]
        files = ShardFiles.of(directory, k)
        write_arrays(files, pairs, [(r, f"c/{r}.png", "c") for r in rows], size)
        for lst, p in zip(out, (files.Y, files.UV, files.index), strict=True):
            lst.append(p)
    return out


def exif_segment(entries) -> bytes:
    """A raw EXIF segment (little-endian TIFF, one IFD) of ``(tag, type, count, value)``
    entries, ``value`` an int (SHORT) or bytes, written as given: unlike PIL's writer it lets
    a tag carry the wrong type, as cameras and editors sometimes write it."""
    import struct

    data_at = 8 + 2 + 12 * len(entries) + 4
    body, extra = b"", b""
    for tag, typ, count, value in entries:
        head = struct.pack("<HHI", tag, typ, count)
        if isinstance(value, int):
            body += head + struct.pack("<HH", value, 0)
        elif len(value) <= 4:
            body += head + value.ljust(4, b"\0")
        else:
            body += head + struct.pack("<I", data_at + len(extra))
            extra += value
    ifd = struct.pack("<H", len(entries)) + body + b"\0\0\0\0"
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd + extra


def save_bad_exif_jpeg(path: Path, h: int = 40, w: int = 60, seed: int = 0) -> Path:
    """A JPEG whose EXIF has an orientation and a numeric tag (ResolutionUnit) stored as
    text: rotating it by its orientation and rewriting the EXIF raises ``struct.error``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = exif_segment([(0x0112, 3, 1, 6), (0x0128, 2, 6, b"inch\0\0")])
    Image.fromarray(natural_rgb(h, w, seed)).save(path, format="JPEG", quality=90, exif=exif)
    return path
