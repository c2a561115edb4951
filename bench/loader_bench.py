"""Benchmark: the training loader (whole-batch gathers) against a per-sample Dataset with the
default collate, reading the same shards from the page cache.

    python bench/loader_bench.py [--images 4096] [--size 224] [--batch 32] [--workers 0]

Both sides produce the same uint8 batches (checked) in the same seeded order.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from _common import compare, header, report

from colorcnn.loader import Gatherer, ShardRows, TrainBatches, batch_loader, open_shard
from colorcnn.shards import ShardFiles, write_arrays


class PerSample(torch.utils.data.Dataset):
    """The former loader: one item per image, collated by the DataLoader."""

    def __init__(self, shards, rows):
        self.shards, self.rows = shards, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        k, j = self.rows[i]
        y, uv = self.shards[k]
        return torch.from_numpy(np.array(y[j])), torch.from_numpy(np.array(uv[j]))


def make_shards(d: Path, n: int, size: int, per_shard: int):
    rng = np.random.default_rng(0)
    files = []
    for k in range(-(-n // per_shard)):
        m = min(per_shard, n - k * per_shard)
        f = ShardFiles.of(d, k)
        pairs = [
            (
                rng.integers(0, 256, (size, size), dtype=np.uint8),
                rng.integers(0, 256, (2, size, size), dtype=np.uint8),
            )
            for _ in range(m)
        ]
        write_arrays(f, pairs, [(k * per_shard + i, f"{i}", "c") for i in range(m)], size)
        files.append(f)
    return files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--per-shard", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    header(f"loader: batches of {a.batch} at {a.size} px, {a.workers} workers")
    with tempfile.TemporaryDirectory() as d:
        files = make_shards(Path(d), a.images, a.size, a.per_shard)
        y, uv, idx = [f.Y for f in files], [f.UV for f in files], [f.index for f in files]
        rows = ShardRows.from_index(y, idx, n_train_rows=a.images)
        ours = TrainBatches(Gatherer(y, uv), rows.train, a.batch, 0, 0, a.steps)
        maps = [open_shard(p, q) for p, q in zip(y, uv, strict=True)]
        order = [i for s in range(a.steps) for i in ours.indices(s)]
        sampler = torch.utils.data.BatchSampler(order, a.batch, drop_last=False)
        old = torch.utils.data.DataLoader(
            PerSample(maps, rows.train), batch_sampler=sampler, num_workers=a.workers
        )
        new = batch_loader(ours, a.workers, pin_memory=False)
        first_old, first_new = next(iter(old)), next(iter(new))
        assert all(torch.equal(p, q) for p, q in zip(first_old, first_new, strict=True))

        def drain(loader):
            return sum(len(y) for y, _ in loader)

        t = compare(
            {
                "per-sample + collate": lambda: drain(old),
                "whole batches (ours)": lambda: drain(new),
            },
            repeats=a.repeats,
            work=a.steps * a.batch,
        )
        report(t, "per-sample + collate", unit="image")


if __name__ == "__main__":
    main()
