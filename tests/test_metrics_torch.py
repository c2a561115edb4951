"""The batched torch QSSIM agrees with the numpy reference (colorcnn.metrics_torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import image_pair

from colorcnn import metrics as M
from colorcnn.metrics_torch import auto_downsample_torch, qssim_torch


@pytest.mark.parametrize("shape", [(11, 11), (32, 48), (224, 224), (600, 520), (800, 900)])
def test_torch_agrees_with_numpy(shape):
    xs, ys = zip(*(image_pair(*shape, seed=s) for s in (0, 7)), strict=True)
    tx = torch.from_numpy(np.stack(xs).transpose(0, 3, 1, 2))
    ty = torch.from_numpy(np.stack(ys).transpose(0, 3, 1, 2))
    want = [M.qssim(a, b) for a, b in zip(xs, ys, strict=True)]
    np.testing.assert_allclose(qssim_torch(tx, ty, torch.float64).numpy(), want, atol=1e-12)
    np.testing.assert_allclose(qssim_torch(tx, ty).numpy(), want, atol=2e-6)  # float32


def test_torch_downsampling_equals_numpy():
    img = np.random.default_rng(2).uniform(0, 255, (2, 700, 650, 3))
    t = auto_downsample_torch(torch.from_numpy(img.transpose(0, 3, 1, 2).copy()))
    for i in range(2):
        np.testing.assert_allclose(
            t[i].numpy().transpose(1, 2, 0), M.auto_downsample(img[i]), rtol=0, atol=1e-10
        )
