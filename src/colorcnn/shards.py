"""Sharded training data: decode, resize, convert to Y and UV, write memory-mappable ``.npy``.

A shard holds up to ``shard_size`` consecutive manifest rows (:mod:`colorcnn.layout` is the
one place that names its files; the workflow's rules import it):

- ``shard-KKKKK.Y.npy``        ``uint8 [N, H, W]``      grayscale (the network input)
- ``shard-KKKKK.UV.npy``       ``uint8 [N, 2, H, W]``   chroma (the target)
- ``shard-KKKKK.index.tsv``    the manifest row of each kept image, in array order; its
  ``#`` lines hold a BLAKE2b digest of each array (the training data's fingerprint) and the
  sums of U and V (the mean-chroma baseline, without reading the arrays again)
- ``shard-KKKKK.rejected.tsv`` every dropped row with its reason code and detail

``np.load(path, mmap_mode="r")`` reads the arrays without copying. Kept rows are appended in
manifest order, each byte written once; the ``.npy`` header is written last, then the file is
synced and renamed into place, so an interrupted job never leaves a finished-looking shard
(and the next run of the shard removes what a killed one left behind). Decoding runs on a
thread pool (PIL and numpy release the GIL) with a bounded window of images in flight.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .color import rgb_to_y_uv_uint8
from .config import PrepareOptions
from .files import fsync_path, remove_leftovers, tmp_name
from .images import ImageRejected, load_rgb, reject_gray, resize_to_model
from .layout import SHARD_KINDS, SHARD_NAME, shard_id
from .sampling import read_manifest
from .tables import INDEX_COLUMNS, read_tsv, write_rejected, write_tsv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardFiles:
    Y: Path
    UV: Path
    index: Path
    rejected: Path

    def __post_init__(self):
        for key in ("Y", "UV", "index", "rejected"):
            object.__setattr__(self, key, Path(getattr(self, key)))

    @classmethod
    def of(cls, directory: str | Path, k: int) -> ShardFiles:
        return cls(
            **{
                key: Path(directory) / SHARD_NAME.format(shard=shard_id(k), kind=kind)
                for key, kind in SHARD_KINDS.items()
            }
        )


def convert_image(path: str | Path, opts: PrepareOptions) -> tuple[np.ndarray, np.ndarray]:
    """Decode one training image into ``(Y [H, W], UV [2, H, W])`` ``uint8`` arrays.

    Raises :class:`~colorcnn.images.ImageRejected` for anything that must not be trained on.
    """
    s = opts.image_size
    im = load_rgb(path, opts.limits, draft_size=(s, s) if opts.reduced_decode else None)
    rgb = np.asarray(resize_to_model(im, s, opts.resize, opts.resample))
    y, uv = rgb_to_y_uv_uint8(rgb)
    reject_gray(uv, opts.min_chroma)
    return y, uv


class NpyAppender:
    """Rows of a ``.npy`` array appended in order, each byte written once; the header (its
    space reserved up front) is written at :meth:`close`, when the row count is known."""

    HEADER_BYTES = 128

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype=np.uint8):
        self.path, self.row_shape, self.dtype = path, tuple(row_shape), np.dtype(dtype)
        self.n = 0
        self.digest = hashlib.blake2b(digest_size=16)
        self._f = open(path, "wb")
        self._f.write(b"\0" * self.HEADER_BYTES)

    def append(self, row: np.ndarray) -> None:
        row = np.ascontiguousarray(row, dtype=self.dtype)
        assert row.shape == self.row_shape, (row.shape, self.row_shape)
        data = row.tobytes()
        self._f.write(data)
        self.digest.update(data)
        self.n += 1

    def close(self) -> None:
        d = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (self.n, *self.row_shape),
        }
        text = "{" + "".join(f"'{k}': {v!r}, " for k, v in d.items()) + "}"
        room = self.HEADER_BYTES - 10  # magic (6), version (2), header length (2)
        header = text.ljust(room - 1).encode("latin1") + b"\n"
        assert len(header) == room, "shape too long for the reserved header"
        self._f.seek(0)
        self._f.write(b"\x93NUMPY\x01\x00" + room.to_bytes(2, "little") + header)
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()


def _ordered_map(pool: ThreadPoolExecutor, fn, items, window: int):
    """``pool.map`` with at most ``window`` results in flight (bounded memory), in order."""
    it = iter(items)
    pending = deque(pool.submit(fn, x) for x in itertools.islice(it, window))
    while pending:
        result = pending.popleft().result()
        for x in itertools.islice(it, 1):
            pending.append(pool.submit(fn, x))
        yield result


class ShardWriter:
    """Writes one shard: kept images appended in order, rejections listed, and on
    :meth:`close` the arrays moved into place, then the index (with digests and chroma sums)
    and the rejected table. Temporary files of a killed earlier run are removed first.

    ``train_rows``: manifest rows from this one on are held out for validation; the chroma
    sums cover only the rows before it."""

    def __init__(self, files: ShardFiles, image_size: int, train_rows: float = math.inf):
        self.files, self.train_rows = files, train_rows
        stale = remove_leftovers(files.Y, files.UV, files.index, files.rejected)
        if stale:
            log.info("removed %d files a killed run of this shard left: %s", len(stale), stale)
        files.Y.parent.mkdir(parents=True, exist_ok=True)
        s = image_size
        self.y = NpyAppender(tmp_name(files.Y), (s, s))
        self.uv = NpyAppender(tmp_name(files.UV), (2, s, s))
        self.kept, self.rejected = [], []
        self.uv_sum, self.n_train = np.zeros(2, dtype=np.int64), 0

    def add(self, row: int, path: str, cls: str, y: np.ndarray, uv: np.ndarray) -> None:
        self.y.append(y)
        self.uv.append(uv)
        if row < self.train_rows:
            self.uv_sum += uv.sum(axis=(1, 2), dtype=np.int64)
            self.n_train += 1
        self.kept.append((row, path, cls))

    def reject(self, row: int, path: str, why: ImageRejected) -> None:
        self.rejected.append((path, why.reason, why.detail))
        log.debug("rejected row %d %s: %s", row, path, why)

    def close(self) -> dict[str, int]:
        for out, dest in ((self.y, self.files.Y), (self.uv, self.files.UV)):
            out.close()
            os.replace(out.path, dest)
        fsync_path(self.files.Y.parent, directory=True)
        meta = {
            "Y_blake2b": self.y.digest.hexdigest(),
            "UV_blake2b": self.uv.digest.hexdigest(),
            "U_sum": int(self.uv_sum[0]),
            "V_sum": int(self.uv_sum[1]),
            "pixels": self.n_train * self.y.row_shape[0] * self.y.row_shape[1],
        }
        write_tsv(self.files.index, INDEX_COLUMNS, self.kept, meta)
        write_rejected(self.files.rejected, self.rejected)
        reasons = Counter(r for _, r, _ in self.rejected)
        return {"kept": len(self.kept), "rejected": len(self.rejected), **reasons}

    def abort(self) -> None:
        for out in (self.y, self.uv):
            out._f.close()
            out.path.unlink(missing_ok=True)


def prepare_shard(
    manifest: str | Path,
    k: int,
    shard_size: int,
    files: ShardFiles,
    opts: PrepareOptions,
    threads: int = 1,
    train_rows: int | None = None,
) -> dict[str, int]:
    """Convert manifest rows ``[k*shard_size, (k+1)*shard_size)`` into shard ``k``.

    ``train_rows``: see :class:`ShardWriter`. A shard past the end of the manifest (possible
    when ``allow_fewer`` took fewer images) is written empty. Returns ``{"kept": ...,
    "rejected": ..., <reason>: ...}`` and logs one line: per-file detail goes to the log file
    (DEBUG) and the rejected table, not the console.
    """
    first = k * shard_size
    root, entries = read_manifest(manifest, slice(first, first + shard_size))
    writer = ShardWriter(files, opts.image_size, math.inf if train_rows is None else train_rows)

    def work(e):
        try:
            return convert_image(root / e.path, opts)
        except ImageRejected as r:
            return r

    try:
        with ThreadPoolExecutor(max(1, threads)) as pool:
            results = _ordered_map(pool, work, entries, window=8 * max(1, threads))
            for i, (e, r) in enumerate(zip(entries, results, strict=True)):
                if isinstance(r, ImageRejected):
                    writer.reject(first + i, e.path, r)
                else:
                    writer.add(first + i, e.path, e.cls, *r)
        counts = writer.close()
    except BaseException:
        writer.abort()
        raise
    reasons = sorted((r, n) for r, n in counts.items() if r not in ("kept", "rejected"))
    detail = ", ".join(f"{r} {n}" for r, n in reasons)
    log.info(
        "shard %s: %d rows, %d kept, %d rejected%s",
        shard_id(k),
        len(entries),
        counts["kept"],
        counts["rejected"],
        f" ({detail})" if detail else "",
    )
    return counts


def write_arrays(files: ShardFiles, pairs, rows, image_size: int) -> dict[str, int]:
    """A shard from ready ``(Y, UV)`` pairs and their ``(row, path, class)`` (tests, benches)."""
    writer = ShardWriter(files, image_size)
    for (row, path, cls), (y, uv) in zip(rows, pairs, strict=True):
        writer.add(row, path, cls, y, uv)
    return writer.close()


def read_index(path: str | Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A shard's index table: ``(meta with digests and chroma sums, rows)``."""
    return read_tsv(path, INDEX_COLUMNS, require=("Y_blake2b", "UV_blake2b", "pixels"))


def fingerprint(index_paths) -> str:
    """Content fingerprint of the training data: a digest of every shard's index table, which
    records its manifest rows and the BLAKE2b digests of its arrays (cheap: no array is read).
    """
    h = hashlib.sha256()
    for p in index_paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def chroma_stats(index_paths) -> dict:
    """Mean U and V (0-255) over every training pixel (validation rows excluded), from the sums
    the shards recorded."""
    u = v = n = 0
    for p in index_paths:
        meta, _ = read_index(p)
        u, v, n = u + int(meta["U_sum"]), v + int(meta["V_sum"]), n + int(meta["pixels"])
    if n == 0:
        raise ValueError("no training pixels in the shards: cannot compute mean chroma")
    return {"mean_u": u / n, "mean_v": v / n, "pixels": n}
