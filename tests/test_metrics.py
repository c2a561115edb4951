"""QSSIM and the other metrics: identities, a hand-computed value, an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import image_pair

from colorcnn import metrics as M
from colorcnn.metrics_torch import qssim_torch


@pytest.mark.parametrize("shape", [(11, 11), (64, 80), (400, 300), (900, 700)])
def test_identity_is_one(shape):
    x, _ = image_pair(*shape)
    assert M.qssim(x, x) == pytest.approx(1.0, abs=1e-12)


def test_symmetry():
    x, y = image_pair(70, 90)
    assert M.qssim(x, y) == pytest.approx(M.qssim(y, x), abs=1e-14)


def test_hand_computed_constant_pair():
    # Constant images: all σ vanish, so QSSIM = |2 μ₁ μ₂* + C₁| / (|μ₁|² + |μ₂|² + C₁).
    # x = (128, 0, 0), y = (0, 128, 0): μ₁ = (0.5/√3, 0, 0), μ₂ = (0, 0.5/√3, 0);
    # μ₁·μ₂ = 0, |μ₁ × μ₂| = 1/12, |μ|² = 1/12 each.
    x = np.zeros((13, 13, 3))
    y = np.zeros((13, 13, 3))
    x[..., 0] = 128
    y[..., 1] = 128
    c1 = 1e-4
    expected = math.sqrt(c1**2 + 4 / 144) / (1 / 6 + c1)
    assert M.qssim(x, y) == pytest.approx(expected, abs=1e-12)
    assert M.qssim_map(x, y).shape == (3, 3)


class Q:
    """A plain quaternion, for an independent evaluation of the definition."""

    def __init__(self, a, b, c, d):
        self.v = np.array([a, b, c, d], dtype=float)

    def __mul__(self, o):
        a1, b1, c1, d1 = self.v
        a2, b2, c2, d2 = o.v
        return Q(
            a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
            a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
            a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
            a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
        )

    def __add__(self, o):
        return Q(*(self.v + o.v))

    def __sub__(self, o):
        return Q(*(self.v - o.v))

    def scale(self, s):
        return Q(*(self.v * s))

    def conj(self):
        return Q(self.v[0], *(-self.v[1:]))

    def norm(self):
        return float(np.sqrt((self.v**2).sum()))


def reference_qssim_11x11(x, y):
    """The definition evaluated literally with quaternion products, for one 11x11 window."""
    g1 = M.gaussian_window_1d()
    w = np.outer(g1, g1)
    q = lambda img, i, j: Q(0, *(img[i, j] / 256.0 / math.sqrt(3)))  # noqa: E731

    def wsum(f):
        acc = Q(0, 0, 0, 0)
        for i in range(11):
            for j in range(11):
                acc = acc + f(i, j).scale(w[i, j])
        return acc

    mu1 = wsum(lambda i, j: q(x, i, j))
    mu2 = wsum(lambda i, j: q(y, i, j))
    s11 = wsum(lambda i, j: q(x, i, j) * q(x, i, j).conj()) - mu1 * mu1.conj()
    s22 = wsum(lambda i, j: q(y, i, j) * q(y, i, j).conj()) - mu2 * mu2.conj()
    s12 = wsum(lambda i, j: q(x, i, j) * q(y, i, j).conj()) - mu1 * mu2.conj()
    c1, c2 = Q(1e-4, 0, 0, 0), Q(9e-4, 0, 0, 0)
    num = ((mu1 * mu2.conj()).scale(2) + c1) * (s12.conj().scale(2) + c2)
    den = (mu1.norm() ** 2 + mu2.norm() ** 2 + 1e-4) * (s11.v[0] + s22.v[0] + 9e-4)
    return num.norm() / den


def test_matches_literal_quaternion_evaluation():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (11, 11, 3)).astype(float)
    y = np.clip(x + rng.normal(0, 40, x.shape), 0, 255)
    assert M.qssim(x, y) == pytest.approx(reference_qssim_11x11(x, y), abs=1e-12)


def test_invariances():
    x, y = image_pair(60, 75)
    base = M.qssim(x, y)
    perm = [2, 0, 1]  # the same permutation of colour axes in both images
    assert M.qssim(x[..., perm], y[..., perm]) == pytest.approx(base, abs=1e-12)
    assert M.qssim(x.transpose(1, 0, 2), y.transpose(1, 0, 2)) == pytest.approx(base, abs=1e-12)
    assert M.qssim(x[:, ::-1], y[:, ::-1]) == pytest.approx(base, abs=1e-12)
    assert M.qssim(x.astype(np.uint8), y.astype(np.uint8)) == pytest.approx(base, abs=1e-12)


def test_gray_scores_high_but_below_one():
    x, _ = image_pair(120, 160)
    g = np.repeat((x @ [0.299, 0.587, 0.114])[..., None], 3, axis=-1)
    assert 0.5 < M.qssim(x, g) < 0.99


@pytest.mark.parametrize("h, w, f", [(400, 420, 2), (700, 650, 3)])
def test_downsampling_matches_explicit_box_means(h, w, f):
    assert M.downsample_factor(h, w) == f
    img = np.random.default_rng(1).uniform(0, 255, (h, w, 3))
    lo = (f - 1) // 2  # MATLAB imfilter anchors an f-wide box at floor((f+1)/2)
    padded = np.pad(img, ((lo, f - 1 - lo), (lo, f - 1 - lo), (0, 0)), mode="symmetric")
    d = M.auto_downsample(img)
    assert d.shape == (math.ceil(h / f), math.ceil(w / f), 3)
    for i, j in [(0, 0), (5, 7), (d.shape[0] - 1, d.shape[1] - 1)]:
        want = padded[f * i : f * i + f, f * j : f * j + f].mean(axis=(0, 1))
        np.testing.assert_allclose(d[i, j], want, rtol=1e-12)
    assert [M.downsample_factor(s, 1000) for s in (100, 383, 384, 639, 640)] == [1, 1, 2, 2, 3]


def test_ssim_is_wangs_and_equals_skimage_without_downsampling():
    sk = M.ssim_skimage
    x, y = image_pair(50, 60)
    assert M.ssim(x, x) == pytest.approx(1.0)
    assert M.ssim(x, y) == pytest.approx(sk(x, y), abs=1e-12)
    x, y = image_pair(600, 520)  # f = 2: Wang's code downsamples first, as QSSIM does
    assert M.downsample_factor(600, 520) == 2
    assert M.ssim(x, y) == pytest.approx(sk(M.auto_downsample(x), M.auto_downsample(y)), abs=1e-12)
    assert M.ssim(x, y) != pytest.approx(sk(x, y), abs=1e-4)


def test_errors_are_clear():
    x, y = image_pair(40, 40)
    with pytest.raises(ValueError, match="same shape"):
        M.qssim(x, y[:-1])
    with pytest.raises(ValueError, match=r"expected RGB images of shape \(H, W, 3\)"):
        M.qssim(x[..., 0], y[..., 0])
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        M.qssim(x[:10], y[:10])
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        qssim_torch(torch.zeros(1, 3, 8, 30), torch.zeros(1, 3, 8, 30))
    with pytest.raises(ValueError, match="expected two"):
        qssim_torch(torch.zeros(1, 1, 30, 30), torch.zeros(1, 1, 30, 30))


def test_psnr_colourfulness():
    x, _ = image_pair(50, 60)
    assert M.psnr(x, x) == math.inf
    assert M.psnr(np.zeros((4, 4, 3)), np.full((4, 4, 3), 255.0)) == pytest.approx(0.0)
    assert M.psnr(np.zeros((4, 4, 3)), np.full((4, 4, 3), 1.0)) == pytest.approx(48.1308, abs=1e-4)
    assert M.colourfulness(np.full((5, 5, 3), 77.0)) == 0.0
    red = np.zeros((2, 2, 3))
    red[..., 0] = 100  # rg = 100, yb = 50, no spread: M = 0.3 * hypot(100, 50)
    assert M.colourfulness(red) == pytest.approx(0.3 * math.hypot(100, 50))


def test_the_literatures_colourfulness_takes_absolute_values():
    """DDColor, CT2, ColorFormer and UniColor compute Hasler & Süsstrunk's M on |R − G| and
    |(R + G)/2 − B| (their colorfulness scripts), not on the signed differences: by hand on
    a two-pixel image, where the two conventions differ."""
    px = np.array([[[200.0, 100.0, 50.0], [100.0, 200.0, 250.0]]])  # R-G = ±100, yb = 100, -100
    # |rg| = 100, 100: std 0, mean 100; |yb| = |150 - 50|, |150 - 250| = 100, 100: std 0, mean 100
    assert M.colourfulness_abs(px) == pytest.approx(0.3 * math.hypot(100, 100))
    # signed: rg = 100, -100 (std 100, mean 0); yb = 100, -100 (std 100, mean 0)
    assert M.colourfulness(px) == pytest.approx(math.hypot(100, 100))
    assert M.colourfulness_abs(np.full((4, 4, 3), 9.0)) == 0.0


def test_ciede2000_is_skimages_mean_over_pixels():
    from skimage.color import deltaE_ciede2000, rgb2lab

    from colorcnn.testimages import natural_rgb

    a, b = natural_rgb(20, 30, 0), natural_rgb(20, 30, 1)
    want = deltaE_ciede2000(rgb2lab(a / 255.0), rgb2lab(b / 255.0)).mean()
    assert M.ciede2000(a, b) == pytest.approx(want, rel=1e-6)
    assert M.ciede2000(a, a) == 0.0
    with pytest.raises(ValueError, match="ciede2000"):
        M.ciede2000(a, b[:10])
