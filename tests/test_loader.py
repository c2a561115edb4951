"""The loader: training and validation rows from the shard indexes, whole batches gathered in
order across shards, and each epoch a permutation seeded by (seed, epoch) (colorcnn.loader)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorcnn.loader import Gatherer, ShardRows, TrainBatches, batch_loader, validation_batches
from colorcnn.testimages import write_shards


@pytest.fixture
def shards(tmp_path):
    return write_shards(tmp_path / "s", 12, size=8, per_shard=5)  # shards of 5, 5 and 2 rows


def _arrays(shards):
    """All images straight from the .npy files, in manifest order (independent of the loader)."""
    y, uv, _ = shards
    return np.concatenate([np.load(p) for p in y]), np.concatenate([np.load(p) for p in uv])


def test_rows_below_n_train_rows_train_and_the_rest_are_held_out(shards):
    y, _, index = shards
    rows = ShardRows.from_index(y, index, n_train_rows=8)
    assert rows.train.tolist() == [[0, k] for k in range(5)] + [[1, k] for k in range(3)]
    assert rows.val.tolist() == [[1, 3], [1, 4], [2, 0], [2, 1]]
    assert rows.image_shape == (8, 8)


def test_gather_returns_the_rows_asked_for_in_that_order(shards):
    Y, UV = _arrays(shards)
    rows = ShardRows.from_index(shards[0], shards[2], 10**9)
    g = Gatherer(shards[0], shards[1])
    pick = [7, 0, 11, 5, 3]  # across all three shards, out of order
    y, uv = g.gather(rows.train[pick])
    assert y.dtype == torch.uint8 and y.shape == (5, 8, 8) and uv.shape == (5, 2, 8, 8)
    np.testing.assert_array_equal(y.numpy(), Y[pick])
    np.testing.assert_array_equal(uv.numpy(), UV[pick])


def test_each_epoch_is_a_permutation_seeded_by_seed_and_epoch(shards):
    rows = ShardRows.from_index(shards[0], shards[2], 10**9).train
    g = Gatherer(shards[0], shards[1])
    b = TrainBatches(g, rows, batch_size=4, seed=7, start_step=0, total_steps=9)
    p0, p1 = b.permutation(0).copy(), b.permutation(1).copy()
    assert sorted(p0) == sorted(p1) == list(range(12))  # every row once per epoch
    assert not np.array_equal(p0, p1)  # the epoch is part of the seed
    again = TrainBatches(g, rows, batch_size=4, seed=7, start_step=0, total_steps=9)
    assert np.array_equal(again.permutation(1), p1) and np.array_equal(again.permutation(0), p0)
    other = TrainBatches(g, rows, batch_size=4, seed=8, start_step=0, total_steps=9)
    assert not np.array_equal(other.permutation(0), p0)
    # step s is batch s mod 3 of epoch s // 3
    assert b.indices(4).tolist() == p1[4:8].tolist()
    assert b.indices(2).tolist() == p0[8:12].tolist()


def test_a_resumed_loader_serves_the_same_batches(shards):
    rows = ShardRows.from_index(shards[0], shards[2], 10**9).train
    g = Gatherer(shards[0], shards[1])
    full = TrainBatches(g, rows, batch_size=4, seed=1, start_step=0, total_steps=7)
    later = TrainBatches(g, rows, batch_size=4, seed=1, start_step=4, total_steps=7)
    assert len(full) == 7 and len(later) == 3
    for i in range(3):
        for a, b in zip(full[4 + i], later[i], strict=True):
            assert torch.equal(a, b)
    with pytest.raises(IndexError):
        later[3]


def test_processes_split_each_global_batch_into_disjoint_slices(shards):
    rows = ShardRows.from_index(shards[0], shards[2], 10**9).train
    g = Gatherer(shards[0], shards[1])
    one = TrainBatches(g, rows, batch_size=4, seed=1, start_step=0, total_steps=3)
    parts = [TrainBatches(g, rows, 4, 1, 0, 3, rank=r, world=2) for r in (0, 1)]
    for step in range(3):
        joined = np.concatenate([p.indices(step) for p in parts])
        assert joined.tolist() == one.indices(step).tolist()
    with pytest.raises(ValueError, match="batch_size 4 must be divisible by the 3 processes"):
        TrainBatches(g, rows, 4, 1, 0, 3, rank=0, world=3)


def test_the_dataloader_serves_whole_batches_from_workers(shards):
    Y, _ = _arrays(shards)
    rows = ShardRows.from_index(shards[0], shards[2], 10**9).train
    batches = TrainBatches(Gatherer(shards[0], shards[1]), rows, 4, 3, 0, 6)
    served = [y for y, _ in batch_loader(batches, workers=1, pin_memory=False)]
    assert len(served) == 6 and all(y.shape == (4, 8, 8) for y in served)
    for step, y in enumerate(served):
        np.testing.assert_array_equal(y.numpy(), Y[batches.indices(step)])


def test_validation_batches_cover_the_held_out_rows_in_order(shards):
    Y, _ = _arrays(shards)
    rows = ShardRows.from_index(shards[0], shards[2], n_train_rows=8)
    got = [y for y, _ in validation_batches(Gatherer(shards[0], shards[1]), rows.val, 3)]
    assert [len(y) for y in got] == [3, 1]
    np.testing.assert_array_equal(torch.cat(got).numpy(), Y[8:12])


def test_shards_that_disagree_are_refused(tmp_path, shards):
    y, _, index = shards
    with pytest.raises(ValueError, match="lists 5 rows but .* holds 2"):
        ShardRows.from_index([y[0], y[2]], [index[0], index[1]][:1] + [index[0]], 10**9)
    empty = write_shards(tmp_path / "empty", 0)
    with pytest.raises(ValueError, match="the shards hold no images"):
        ShardRows.from_index(*empty[::2], 10**9)
