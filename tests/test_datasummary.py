"""What the data stage kept and dropped: rejected files with reasons, counts per class, and
the training pixels' mean chroma (colorcnn.datasummary)."""

from __future__ import annotations

import json
import logging

import numpy as np
from conftest import make_manifest

from colorcnn.config import PrepareOptions
from colorcnn.datasummary import summarize_shards
from colorcnn.sampling import Entry, write_manifest
from colorcnn.shards import ShardFiles, prepare_shard
from colorcnn.tables import read_tsv
from colorcnn.testimages import save_jpeg

OPTS = PrepareOptions(image_size=32, min_side=16, max_pixels=200_000)


def _prepare(tmp_path, manifest, n, shard_size=4, train_rows=10**9):
    files = [ShardFiles.of(tmp_path / "shards", k) for k in range(-(-n // shard_size))]
    for k, f in enumerate(files):
        prepare_shard(manifest, k, shard_size, f, OPTS, 1, train_rows)
    return files


def test_rejections_classes_and_the_mean_chroma_of_the_training_pixels(tmp_path, caplog):
    root, entries = make_manifest(tmp_path, n_good=6, bad_at=(2,))  # 7 rows, one unreadable
    save_jpeg(root / "d" / "0.JPEG", 50, 64, seed=99)  # a class that keeps its one image
    (root / "e").mkdir()
    (root / "e" / "0.JPEG").write_bytes(b"not a jpeg")  # a class that loses every image
    entries += [Entry("d/0.JPEG", "d", 0), Entry("e/0.JPEG", "e", 0)]
    write_manifest(tmp_path / "manifest.tsv", entries, root)
    files = _prepare(tmp_path, tmp_path / "manifest.tsv", len(entries), train_rows=8)
    out = {k: tmp_path / f"{k}.out" for k in ("rejected", "classes", "chroma")}
    caplog.set_level(logging.WARNING)
    counts = summarize_shards(
        tmp_path / "manifest.tsv",
        [f.index for f in files],
        [f.rejected for f in files],
        **out,
    )
    assert counts == {"c": (7, 6, 1), "d": (1, 1, 0), "e": (1, 0, 1)}
    assert "1 of 3 classes lost every image" in caplog.text and "e" in caplog.text
    rejected = read_tsv(out["rejected"])[1]
    assert sorted(r["path"] for r in rejected) == ["c/bad.JPEG", "e/0.JPEG"]
    assert all(r["reason"] for r in rejected)
    # the mean U and V of the training rows (manifest rows < 8), straight from the arrays
    uv, rows = [], []
    for f in files:
        uv.append(np.load(f.UV))
        rows += [int(r["row"]) for r in read_tsv(f.index)[1]]
    uv = np.concatenate(uv)[np.asarray(rows) < 8].astype(np.float64)
    stats = json.loads(out["chroma"].read_text())
    assert stats["pixels"] == uv.shape[0] * 32 * 32
    assert np.isclose(stats["mean_u"], uv[:, 0].mean()) and np.isclose(
        stats["mean_v"], uv[:, 1].mean()
    )
