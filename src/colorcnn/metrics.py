"""Image-quality metrics: QSSIM (the paper's), SSIM, PSNR, colourfulness.

QSSIM follows Kolaman & Yadid-Pecht, "Quaternion Structural Similarity: A New Quality Index for
Color Images", IEEE TIP 21(4), 2012, as in the authors' reference code (version 1.2):

1. both RGB images are divided by **256**;
2. automatic downsampling as in Wang's ``ssim.m``: ``f = max(1, round(min(H, W) / 256))``;
   for ``f > 1`` each channel is filtered with an ``f×f`` box (symmetric padding, same size,
   MATLAB's ``imfilter`` anchoring) and every ``f``-th row and column kept, from the first;
3. each pixel is the pure quaternion ``q = (0, R, G, B) / √3``;
4. window ``w``: 11×11 Gaussian, σ = 1.5, sum 1, applied in 'valid' mode;
5. ``μ = w * q``; ``σ₁² = w * (q₁ q₁*) − μ₁ μ₁*`` (real), ``σ₁₂ = w * (q₁ q₂*) − μ₁ μ₂*``,
   a full quaternion: for pure quaternions ``p q* = (p·q, −p×q)``;
6. ``C₁ = 0.01²``, ``C₂ = 0.03²``;
7. ``map = |(2 μ₁ μ₂* + C₁)(2 σ₁₂* + C₂)| / ((|μ₁|² + |μ₂|² + C₁)(σ₁² + σ₂² + C₂))``,
   QSSIM = mean(map).

Because the quaternion norm is multiplicative, the numerator is ``|2 μ₁ μ₂* + C₁| ·
|2 σ₁₂* + C₂|``, and each factor needs only dot and cross products: 12 Gaussian filterings in
all (3-channel SSIM needs 15).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import correlate1d

#: Constants of the reference code (dynamic range L = 1 after division by 256).
QSSIM_K = (0.01, 0.03)
QSSIM_DIVISOR = 256.0
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5


def gaussian_window_1d(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """1-D factor of MATLAB's ``fspecial('gaussian', size, sigma)`` (the 2-D window is its
    outer product; both sum to 1)."""
    x = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _validate_pair(x: np.ndarray, y: np.ndarray, name: str = "qssim") -> None:
    if x.shape != y.shape:
        raise ValueError(f"{name}: images must have the same shape, got {x.shape} and {y.shape}")
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"{name}: expected RGB images of shape (H, W, 3), got {x.shape}")


def downsample_factor(h: int, w: int) -> int:
    """Wang's automatic downsampling factor, with MATLAB's round (half away from zero)."""
    return max(1, math.floor(min(h, w) / 256 + 0.5))


def auto_downsample(img: np.ndarray) -> np.ndarray:
    """Box-filter (symmetric padding, MATLAB anchoring), subsample by :func:`downsample_factor`."""
    f = downsample_factor(*img.shape[:2])
    if f == 1:
        return img
    lo = (f - 1) // 2  # MATLAB imfilter: kernel origin at floor((f+1)/2)
    out = img
    for axis in (0, 1):
        pad = [(0, 0)] * img.ndim
        pad[axis] = (lo, f - 1 - lo)
        p = np.pad(out, pad, mode="symmetric")
        c = np.cumsum(p, axis=axis, dtype=np.float64)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        n = out.shape[axis]
        out = (np.take(c, np.arange(f, f + n), axis=axis) - np.take(c, np.arange(n), axis=axis)) / f
    return out[::f, ::f]


def _filter_valid_planes(planes: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable correlation of each ``(H, W)`` plane of ``planes`` with ``g`` along both axes,
    'valid' region only: ``(P, H, W)`` → ``(P, H - 2r, W - 2r)``."""
    r = len(g) // 2
    p, h, w = planes.shape
    tmp = np.empty((h, w))
    out = np.empty((p, h - 2 * r, w))
    for i in range(p):
        correlate1d(planes[i], g, axis=0, mode="constant", output=tmp)
        correlate1d(tmp[r : h - r], g, axis=1, mode="constant", output=out[i])
    return out[:, :, r : w - r]


def _cross_into(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of planar vectors ``(3, H, W)`` written into ``out``."""
    for i, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):
        np.multiply(a[j], b[k], out=out[i])
        out[i] -= a[k] * b[j]
    return out


def qssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The QSSIM map of two RGB images (8-bit range); see the module docstring.

    Parameters
    ----------
    x, y : ndarray, shape (H, W, 3)
        Reference and test image, values on the 0-255 scale (any real dtype).

    Returns
    -------
    ndarray
        ``(H' - 10, W' - 10)`` float64 map, where ``H', W'`` are the sizes after automatic
        downsampling.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    _validate_pair(x, y)
    x = auto_downsample(x.astype(np.float64, copy=False))
    y = auto_downsample(y.astype(np.float64, copy=False))
    h, w = x.shape[:2]
    if min(h, w) < WINDOW_SIZE:
        raise ValueError(
            f"qssim: images of {x.shape[0]}x{x.shape[1]} are {h}x{w} after automatic "
            f"downsampling, smaller than the {WINDOW_SIZE}x{WINDOW_SIZE} window"
        )
    # Twelve planes to filter: q₁ (3), q₂ (3), |q₁|², |q₂|², q₁·q₂, q₁×q₂ (3), where
    # q = (0, R, G, B) / (256 √3) is a pure quaternion kept as its vector part (3, H, W).
    k = 1.0 / (QSSIM_DIVISOR * math.sqrt(3.0))
    planes = np.empty((12, h, w))
    q1, q2 = planes[0:3], planes[3:6]
    for c in range(3):
        np.multiply(x[..., c], k, out=q1[c])
        np.multiply(y[..., c], k, out=q2[c])
    np.einsum("chw,chw->hw", q1, q1, out=planes[6])
    np.einsum("chw,chw->hw", q2, q2, out=planes[7])
    np.einsum("chw,chw->hw", q1, q2, out=planes[8])
    _cross_into(planes[9:12], q1, q2)
    m = _filter_valid_planes(planes, gaussian_window_1d())  # w * (...), valid
    mu1, mu2 = m[0:3], m[3:6]  # μ₁, μ₂ (vector parts; real parts are 0)
    mu11 = np.einsum("chw,chw->hw", mu1, mu1)  # |μ₁|²
    mu22 = np.einsum("chw,chw->hw", mu2, mu2)
    mu12 = np.einsum("chw,chw->hw", mu1, mu2)  # μ₁·μ₂
    mu1xmu2 = _cross_into(np.empty_like(mu1), mu1, mu2)
    s11 = m[6] - mu11  # σ₁² = w * |q₁|² − |μ₁|²
    s22 = m[7] - mu22  # σ₂²
    s12_real = m[8] - mu12  # real part of σ₁₂ = w * (q₁ q₂*) − μ₁ μ₂*
    s12c_vec = m[9:12] - mu1xmu2  # vector part of σ₁₂* = w * (q₁ × q₂) − μ₁ × μ₂
    c1, c2 = QSSIM_K[0] ** 2, QSSIM_K[1] ** 2
    # |2 μ₁ μ₂* + C₁|, with μ₁ μ₂* = (μ₁·μ₂, −μ₁×μ₂)
    a_norm = np.sqrt((2 * mu12 + c1) ** 2 + 4 * np.einsum("chw,chw->hw", mu1xmu2, mu1xmu2))
    # |2 σ₁₂* + C₂|
    b_norm = np.sqrt((2 * s12_real + c2) ** 2 + 4 * np.einsum("chw,chw->hw", s12c_vec, s12c_vec))
    den = (mu11 + mu22 + c1) * (s11 + s22 + c2)
    return a_norm * b_norm / den


def qssim(x: np.ndarray, y: np.ndarray) -> float:
    """Quaternion SSIM of two RGB images on the 0-255 scale (mean of :func:`qssim_map`).

    Notes
    -----
    Ports of this metric disagree (division by 255, no 1/√3, other windows, dropping the
    vector part of σ₁₂); numbers are only comparable when computed the same way. This follows
    the authors' reference code, version 1.2. QSSIM(x, x) = 1, and a gray image already scores
    high against its colour original (about 0.7 on typical photographs), so always report a
    gray baseline beside a model.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32, 3))
    >>> round(qssim(x, x), 12)
    1.0
    """
    return float(qssim_map(x, y).mean())


def qssim_torch(x, y):
    """Batched QSSIM in torch: ``x, y`` of shape ``(B, 3, H, W)`` (0-255) → ``(B,)`` float64.

    The same definition as :func:`qssim` (agrees within 1e-6), computed with separable
    ``conv2d`` on any device.
    """
    import torch
    import torch.nn.functional as F

    if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(
            f"qssim_torch: expected two (B, 3, H, W) tensors, got {x.shape}, {y.shape}"
        )
    h, w = x.shape[-2:]
    f = downsample_factor(h, w)
    x = x.to(torch.float64) / QSSIM_DIVISOR
    y = y.to(torch.float64) / QSSIM_DIVISOR
    if f > 1:
        lo = (f - 1) // 2
        box = torch.full((3, 1, f, f), 1.0 / (f * f), dtype=torch.float64, device=x.device)

        def down(a):
            a = _symmetric_pad(a, lo, f - 1 - lo)
            return F.conv2d(a, box, groups=3)[..., ::f, ::f]

        x, y = down(x), down(y)
    if min(x.shape[-2:]) < WINDOW_SIZE:
        raise ValueError(
            f"qssim_torch: images of {h}x{w} are {x.shape[-2]}x{x.shape[-1]} after automatic "
            f"downsampling, smaller than the {WINDOW_SIZE}x{WINDOW_SIZE} window"
        )
    q1, q2 = x / math.sqrt(3.0), y / math.sqrt(3.0)  # (B, 3, H', W')
    g = torch.as_tensor(gaussian_window_1d(), dtype=torch.float64, device=x.device)

    def filt(a):  # (B, C, H, W) -> valid (B, C, H-10, W-10)
        c = a.shape[1]
        a = F.conv2d(a, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return F.conv2d(a, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)

    def cross(a, b):
        return torch.linalg.cross(a, b, dim=1)

    stacked = torch.cat(
        [
            q1,
            q2,
            (q1 * q1).sum(1, keepdim=True),
            (q2 * q2).sum(1, keepdim=True),
            (q1 * q2).sum(1, keepdim=True),
            cross(q1, q2),
        ],
        dim=1,
    )  # (B, 12, H', W'): all 12 filterings in one grouped convolution
    m = filt(stacked)
    mu1, mu2 = m[:, 0:3], m[:, 3:6]
    s11 = m[:, 6] - (mu1 * mu1).sum(1)
    s22 = m[:, 7] - (mu2 * mu2).sum(1)
    s12_real = m[:, 8] - (mu1 * mu2).sum(1)
    mu_cross = cross(mu1, mu2)
    s12c_vec = m[:, 9:12] - mu_cross
    c1, c2 = QSSIM_K[0] ** 2, QSSIM_K[1] ** 2
    a_norm = torch.sqrt((2 * (mu1 * mu2).sum(1) + c1) ** 2 + 4 * (mu_cross**2).sum(1))
    b_norm = torch.sqrt((2 * s12_real + c2) ** 2 + 4 * (s12c_vec**2).sum(1))
    den = ((mu1 * mu1).sum(1) + (mu2 * mu2).sum(1) + c1) * (s11 + s22 + c2)
    return (a_norm * b_norm / den).mean(dim=(-2, -1))


def _symmetric_pad(a, lo: int, hi: int):
    """numpy's 'symmetric' padding (edge repeated) of the last two axes of a torch tensor."""
    import torch

    def pad_axis(t, dim):
        n = t.shape[dim]
        idx = list(range(lo - 1, -1, -1)) + list(range(n)) + list(range(n - 1, n - 1 - hi, -1))
        return t.index_select(dim, torch.as_tensor(idx, device=t.device))

    return pad_axis(pad_axis(a, -2), -1)


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM on RGB with Wang's settings (Gaussian σ 1.5, population covariance, range 255)."""
    from skimage.metrics import structural_similarity

    _validate_pair(np.asarray(x), np.asarray(y), "ssim")
    return float(
        structural_similarity(
            np.asarray(x, np.float64),
            np.asarray(y, np.float64),
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
        )
    )


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR in dB over all RGB channels, data range 255 (``inf`` for identical images)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    _validate_pair(x, y, "psnr")
    mse = float(((x - y) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness M of an RGB image on the 0-255 scale.

    ``rg = R − G``, ``yb = (R + G)/2 − B``; ``M = sqrt(σ_rg² + σ_yb²) + 0.3 sqrt(μ_rg² + μ_yb²)``.
    0 for a gray image; about 20-60 for typical photographs.
    """
    a = np.asarray(rgb, np.float64)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"colourfulness: expected an RGB image (H, W, 3), got {a.shape}")
    rg = a[..., 0] - a[..., 1]
    yb = 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))
