"""Batched QSSIM in torch, for scoring many images on a GPU.

The same definition as :func:`colorcnn.metrics.qssim` (see there), for a batch of equally
sized images ``(B, 3, H, W)``: the automatic downsampling as block means of the symmetrically
padded images (``avg_pool2d``), the Gaussian window as two single-channel convolutions over
all planes of the batch as banded matrix products (no grouped convolution, which falls to a
slow path on the CPU).

In ``float32`` (the default, fast on GPUs) the second moments are computed from images
centred on their own mean colour: every σ term is invariant to that shift, and centring keeps
``w * |q|² − |μ|²`` from cancelling. It agrees with the float64 numpy reference to about
1e-6; ``dtype=torch.float64`` agrees to 1e-12.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .metrics import (
    QSSIM_DIVISOR,
    QSSIM_K,
    WINDOW_SIZE,
    banded_valid,
    downsample_factor,
    window_matrix,
)


def _symmetric_pad(x: torch.Tensor, rows: tuple[int, int], cols: tuple[int, int]):
    """numpy's 'symmetric' padding (edge repeated) of the last two axes."""
    for dim, (lo, hi) in ((-2, rows), (-1, cols)):
        n = x.shape[dim]
        parts = [x.narrow(dim, 0, lo).flip(dim), x, x.narrow(dim, n - hi, hi).flip(dim)]
        x = torch.cat(parts, dim=dim)
    return x


def auto_downsample_torch(x: torch.Tensor) -> torch.Tensor:
    """Step 2 of QSSIM for ``(B, C, H, W)``: means of the kept pixels' ``f×f`` boxes."""
    h, w = x.shape[-2:]
    f = downsample_factor(h, w)
    if f == 1:
        return x
    lo = (f - 1) // 2
    nh, nw = -(-h // f), -(-w // f)
    rows, cols = (lo, max(0, nh * f - lo - h)), (lo, max(0, nw * f - lo - w))
    return F.avg_pool2d(_symmetric_pad(x, rows, cols)[..., : nh * f, : nw * f], f)


def qssim_torch(x: torch.Tensor, y: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """QSSIM of each pair of a batch: ``x, y`` ``(B, 3, H, W)`` on the 0-255 scale → ``(B,)``."""
    if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(
            f"qssim_torch: expected two (B, 3, H, W) tensors, got {x.shape}, {y.shape}"
        )
    h, w = x.shape[-2:]
    k = 1.0 / (QSSIM_DIVISOR * math.sqrt(3.0))
    x = auto_downsample_torch(x.to(dtype)) * k  # q₁ (B, 3, H', W')
    y = auto_downsample_torch(y.to(dtype)) * k
    if min(x.shape[-2:]) < WINDOW_SIZE:
        raise ValueError(
            f"qssim_torch: images of {h}x{w} are {x.shape[-2]}x{x.shape[-1]} after automatic "
            f"downsampling, smaller than the {WINDOW_SIZE}x{WINDOW_SIZE} window"
        )
    cx = x.mean(dim=(-2, -1), keepdim=True, dtype=torch.float64).to(dtype)
    cy = y.mean(dim=(-2, -1), keepdim=True, dtype=torch.float64).to(dtype)
    x, y = x - cx, y - cy  # centred: every σ term is invariant to the shift
    # the twelve planes: μ₁ − c₁, μ₂ − c₂, w*|q̃₁|², w*|q̃₂|², w*(q̃₁·q̃₂), w*(q̃₁×q̃₂)
    mt1, mt2 = _filter_valid(x), _filter_valid(y)
    dots = _filter_valid(torch.stack([(a * b).sum(1) for a, b in ((x, x), (y, y), (x, y))], 1))
    s11 = dots[:, 0] - (mt1 * mt1).sum(1)  # σ₁²
    s22 = dots[:, 1] - (mt2 * mt2).sum(1)
    s12_real = dots[:, 2] - (mt1 * mt2).sum(1)
    s12c_vec = _filter_valid(_cross(x, y)) - _cross(mt1, mt2)
    mu1, mu2 = mt1 + cx, mt2 + cy
    mu11, mu22, mu12 = (mu1 * mu1).sum(1), (mu2 * mu2).sum(1), (mu1 * mu2).sum(1)
    c1, c2 = QSSIM_K[0] ** 2, QSSIM_K[1] ** 2
    a2 = 4 * mu11 * mu22 + 4 * c1 * mu12 + c1 * c1  # |2 μ₁ μ₂* + C₁|² (Lagrange's identity)
    b2 = (2 * s12_real + c2) ** 2 + 4 * (s12c_vec * s12c_vec).sum(1)  # |2 σ₁₂* + C₂|²
    qmap = torch.sqrt(a2 * b2) / ((mu11 + mu22 + c1) * (s11 + s22 + c2))
    return qmap.mean(dim=(-2, -1), dtype=torch.float64)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cross product over dim 1 of ``(B, 3, H, W)`` (``torch.linalg.cross`` is slow here)."""
    a0, a1, a2 = a[:, 0:1], a[:, 1:2], a[:, 2:3]
    b0, b1, b2 = b[:, 0:1], b[:, 1:2], b[:, 2:3]
    return torch.cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=1)


def _filter_valid(planes: torch.Tensor, block: int = 56) -> torch.Tensor:
    """The Gaussian window over every ``(H, W)`` plane of ``(..., H, W)``, 'valid' region,
    by :func:`~colorcnn.metrics.banded_valid` (matrix products: several times faster than
    ``conv2d`` with one input channel on a CPU, and the natural fast path on a GPU)."""
    *lead, h, w = planes.shape
    v = WINDOW_SIZE - 1
    g = torch.as_tensor(window_matrix(block + v), dtype=planes.dtype, device=planes.device)
    x = planes.reshape(-1, h, w).transpose(1, 2)
    rows = banded_valid(x, g, x.new_empty(x.shape[0], w - v, h), block)  # along W
    out = banded_valid(rows.transpose(1, 2), g, x.new_empty(x.shape[0], h - v, w - v), block)
    return out.reshape(*lead, h - v, w - v)
