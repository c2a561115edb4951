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
