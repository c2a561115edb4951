"""Shards: their contents equal the direct conversion, rejections are listed, rows are written
once, a killed writer's leftovers go (colorcnn.shards)."""

import csv
import hashlib
import os

import numpy as np
from conftest import make_manifest

from colorcnn.color import rgb_to_y_uv_uint8
from colorcnn.config import PrepareOptions
from colorcnn.images import load_rgb, resize_to_model
from colorcnn.loader import open_shard
from colorcnn.shards import ShardFiles, prepare_shard, read_index

OPTS = PrepareOptions(image_size=32, min_side=16, max_pixels=200_000)


def test_shard_equals_direct_conversion_and_lists_rejections(tmp_path):
    root, _ = make_manifest(tmp_path)
    files = ShardFiles.of(tmp_path / "shards", 1)
    opts = PrepareOptions(image_size=32, min_side=16)
    counts = prepare_shard(tmp_path / "manifest.tsv", 1, 5, files, opts, threads=2)
    assert counts == {"kept": 3, "rejected": 0}  # rows 5..7 of 8
    y, uv = open_shard(files.Y, files.UV)
    assert isinstance(y, np.memmap) and y.shape == (3, 32, 32) and uv.shape == (3, 2, 32, 32)
    meta, idx = read_index(files.index)
    assert [r["row"] for r in idx] == ["5", "6", "7"]
    for i, r in enumerate(idx):
        im = load_rgb(root / r["path"], draft_size=(32, 32))
        y_ref, uv_ref = rgb_to_y_uv_uint8(np.asarray(resize_to_model(im, 32, "crop", "bilinear")))
        np.testing.assert_array_equal(y[i], y_ref)
        np.testing.assert_array_equal(uv[i], uv_ref)
    # the index records the arrays' content digests and the chroma sums
    assert meta["Y_blake2b"] == hashlib.blake2b(np.asarray(y).tobytes(), digest_size=16).hexdigest()
    assert int(meta["U_sum"]) == int(np.asarray(uv[:, 0], np.int64).sum())
    files0 = ShardFiles.of(tmp_path / "shards", 0)
    # rows 0..4 hold the corrupt file: it is listed, the others kept
    counts = prepare_shard(tmp_path / "manifest.tsv", 0, 5, files0, opts)
    assert counts == {"kept": 4, "rejected": 1, "unreadable": 1}
    with open(files0.rejected) as f:
        rej = list(csv.DictReader(f, delimiter="\t"))
    assert [(r["path"], r["reason"]) for r in rej] == [("c/bad.JPEG", "unreadable")]
    assert not list((tmp_path / "shards").glob(".tmp-*"))


def test_kept_rows_are_written_once(tmp_path, monkeypatch):
    """With rejected rows, no second, full-size copy of the shard is ever on disk: when a
    finished array is moved into place, the shard's temporary files hold no more than it."""
    make_manifest(tmp_path, n_good=12, bad_at=(2, 9))
    files = ShardFiles.of(tmp_path / "shards", 0)
    real_replace = os.replace
    seen = []

    def replace(src, dst):
        if str(dst).endswith(".npy"):
            same = files.Y.parent.glob(f".tmp-*{os.path.basename(dst)}")
            temps = sum(p.stat().st_size for p in same)
            seen.append((os.path.getsize(src), temps))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert prepare_shard(tmp_path / "manifest.tsv", 0, 14, files, OPTS)["rejected"] == 2
    assert len(seen) == 2
    for final, temps in seen:
        assert temps == final, (final, temps)


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    make_manifest(tmp_path)
    files = ShardFiles.of(tmp_path / "shards", 0)
    files.Y.parent.mkdir(parents=True)
    stale = [files.Y.parent / f".tmp-99999-{p.name}" for p in (files.Y, files.UV, files.index)]
    for p in stale:
        p.write_bytes(b"x" * 1000)
    other = files.Y.parent / ".tmp-99999-shard-00001.Y.npy"  # another shard's: not ours
    other.write_bytes(b"x")
    prepare_shard(tmp_path / "manifest.tsv", 0, 8, files, OPTS)
    assert not any(p.exists() for p in stale) and other.exists()


def test_shard_past_the_end_is_empty(tmp_path):
    make_manifest(tmp_path, 2)
    files = ShardFiles.of(tmp_path / "shards", 3)
    assert prepare_shard(tmp_path / "manifest.tsv", 3, 4, files, OPTS) == {"kept": 0, "rejected": 0}
    assert open_shard(files.Y, files.UV)[0].shape == (0, 32, 32)
