"""A colorization task the network can provably learn: colour given by texture, not brightness.

Each image is a patchwork of regions on a smooth background. A region's *texture* decides its
colour: horizontal stripes are red, vertical stripes blue, a checkerboard green, and the
smooth background stays neutral. Each region's brightness is drawn independently of its
texture (every texture spans the same range of Y), so brightness alone says nothing about the
colour; only the pattern in Y does. A pipeline that works learns this within minutes on a
CPU, even with a random backbone; a broken one (U and V swapped, targets misaligned with their
images, a wrong scale) cannot, which makes the task a test of the whole chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .color import quantize, yuv_to_rgb

#: texture → (U, V) offset from neutral (128, 128), in 8-bit levels.
TEXTURE_CHROMA = {
    "horizontal": (-30.0, 60.0),  # red
    "vertical": (45.0, -20.0),  # blue
    "checker": (-40.0, -40.0),  # green
}
#: Stripe period as a fraction of the image's shorter side: the pattern survives resizing to
#: the model size (at 48 px, a period of about 5 pixels).
PERIOD = 0.1
AMPLITUDE = 20.0  # ± levels of Y inside a textured region
BRIGHTNESS = (100.0, 150.0)  # range of every region's mean Y, whatever its texture


@dataclass(frozen=True)
class Scene:
    """Generated image: ``rgb`` ``(H, W, 3)`` uint8 and the texture index of each pixel."""

    rgb: np.ndarray
    labels: np.ndarray  # (H, W): 0 background, 1.. index into TEXTURE_CHROMA + 1


def _texture(kind: str, yy: np.ndarray, xx: np.ndarray, phase: float, period: float):
    """A ±1 pattern over pixel coordinates."""
    w = 2 * np.pi / period
    if kind == "horizontal":
        return np.sign(np.sin(w * yy + phase))
    if kind == "vertical":
        return np.sign(np.sin(w * xx + phase))
    return np.sign(np.sin(w * xx + phase)) * np.sign(np.sin(w * yy + phase))


def scene(h: int, w: int, rng: np.random.Generator, n_regions: int | None = None) -> Scene:
    """One image: a smooth background with 2-5 textured rectangles and discs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = rng.uniform(*BRIGHTNESS)
    period = max(4.0, PERIOD * min(h, w))
    tilt = rng.uniform(-0.25, 0.25, 2) * 40 / max(h, w)
    y = base + tilt[0] * (yy - h / 2) + tilt[1] * (xx - w / 2)  # smooth, neutral background
    u = np.full((h, w), 128.0)
    v = np.full((h, w), 128.0)
    labels = np.zeros((h, w), np.uint8)
    kinds = list(TEXTURE_CHROMA)
    for _ in range(n_regions or int(rng.integers(2, 6))):
        k = int(rng.integers(len(kinds)))
        side = rng.uniform(0.25, 0.5) * min(h, w)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        if rng.random() < 0.5:
            mask = (np.abs(yy - cy) < side / 2) & (np.abs(xx - cx) < side * rng.uniform(0.5, 1))
        else:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < (side / 2) ** 2
        pattern = _texture(kinds[k], yy, xx, rng.uniform(0, 2 * np.pi), period)
        y[mask] = rng.uniform(*BRIGHTNESS) + AMPLITUDE * pattern[mask]
        du, dv = TEXTURE_CHROMA[kinds[k]]
        u[mask], v[mask] = 128 + du, 128 + dv
        labels[mask] = k + 1
    y += rng.normal(0, 2.0, (h, w))  # sensor noise
    rgb = quantize(yuv_to_rgb(np.stack([y, u, v], axis=-1)))
    return Scene(rgb, labels)


def images(n: int, seed: int, sizes=(72, 128)):
    """``n`` scenes of random sizes in ``[sizes[0], sizes[1])`` (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = (int(s) for s in rng.integers(sizes[0], sizes[1], 2))
        yield scene(h, w, rng).rgb
