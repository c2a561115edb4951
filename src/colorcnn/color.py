"""Colour conversion between 8-bit RGB and JPEG/JFIF full-range YCbCr ("Y", "UV").

This module owns the constants. The paper computes

    Y =  0.299000 R + 0.587000 G + 0.114000 B
    U = -0.168736 R - 0.331264 G + 0.500000 B + 128
    V =  0.500000 R - 0.418688 G - 0.081312 B + 128

and the inverse is ``R = Y + 1.402 (V-128)``, ``G = Y - 0.344136 (U-128) -
0.714136 (V-128)``, ``B = Y + 1.772 (U-128)``: those are the exact inverse's coefficients
to within 1.3e-6; we use the exact inverse so that a float round trip is exact. Values are
floats on the 0-255 scale; :func:`quantize` rounds and clips them to ``uint8`` for storage.

numpy functions take channels last (``[..., 3]``); :func:`yuv_to_rgb_torch` (colorizing on a
GPU) takes ``[B, 3, H, W]`` and uses the same matrix.
"""

from __future__ import annotations

import numpy as np

#: Forward matrix: rows are Y, U, V; columns are R, G, B.
RGB_TO_YUV = np.array(
    [
        [0.299000, 0.587000, 0.114000],
        [-0.168736, -0.331264, 0.500000],
        [0.500000, -0.418688, -0.081312],
    ]
)
#: Offset added after the matrix product (U and V are centred on 128).
YUV_OFFSET = np.array([0.0, 128.0, 128.0])
#: Inverse matrix: rows are R, G, B; columns are Y, U-128, V-128. It is the exact matrix
#: inverse of :data:`RGB_TO_YUV`; within 1.3e-6 of JFIF's printed inverse
#: (1.402, -0.344136, -0.714136, 1.772), whose rounding alone would cost up to 1.5e-4 levels
#: on a float round trip.
YUV_TO_RGB = np.linalg.inv(RGB_TO_YUV)
#: JFIF's printed inverse, kept to test that :data:`YUV_TO_RGB` agrees with it.
YUV_TO_RGB_JFIF = np.array(
    [
        [1.0, 0.0, 1.402],
        [1.0, -0.344136, -0.714136],
        [1.0, 1.772, 0.0],
    ]
)
#: The neutral chroma value: U = V = 128 is gray.
NEUTRAL_CHROMA = 128.0


def _check_last_axis(a: np.ndarray, name: str) -> None:
    if a.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels in the last axis, got shape {a.shape}")


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """Convert RGB ``[..., 3]`` on the 0-255 scale to float64 YUV ``[..., 3]``."""
    rgb = np.asarray(rgb)
    _check_last_axis(rgb, "rgb")
    return rgb.astype(np.float64, copy=False) @ RGB_TO_YUV.T + YUV_OFFSET


def yuv_to_rgb(yuv: np.ndarray, *, clip: bool = True) -> np.ndarray:
    """Convert float YUV ``[..., 3]`` to float64 RGB ``[..., 3]``, clipped to 0-255 by default."""
    yuv = np.asarray(yuv)
    _check_last_axis(yuv, "yuv")
    rgb = (yuv.astype(np.float64, copy=False) - YUV_OFFSET) @ YUV_TO_RGB.T
    return np.clip(rgb, 0.0, 255.0) if clip else rgb


def quantize(x: np.ndarray) -> np.ndarray:
    """Round half to even and clip to ``uint8`` (the storage format of Y and UV)."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def rgb_to_y_uv_uint8(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split an ``uint8`` RGB image ``[H, W, 3]`` into stored Y ``[H, W]`` and UV ``[2, H, W]``.

    The same float64 formulas as :func:`rgb_to_yuv` followed by :func:`quantize`, evaluated
    plane by plane (about 5x faster than the matrix product on ``[H, W, 3]``). The two can
    differ only where the exact value is a rounding tie (x.5) and float64 error decides it.
    """
    rgb = np.asarray(rgb)
    _check_last_axis(rgb, "rgb")
    planes = np.moveaxis(rgb, -1, 0).astype(np.float64)  # (3, H, W)
    out = np.empty(planes.shape, np.uint8)
    v = np.empty(planes.shape[1:], np.float64)
    for o in range(3):
        np.multiply(planes[0], RGB_TO_YUV[o, 0], out=v)
        v += RGB_TO_YUV[o, 1] * planes[1]
        v += RGB_TO_YUV[o, 2] * planes[2]
        v += YUV_OFFSET[o]
        np.rint(v, out=v)
        np.clip(v, 0, 255, out=v)
        out[o] = v
    return out[0], out[1:]


def y_uv_to_rgb_uint8(y: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Recombine Y ``[H, W]`` and UV ``[2, H, W]`` (any real dtype, 0-255) into ``uint8`` RGB."""
    y = np.asarray(y, dtype=np.float64)
    uv = np.asarray(uv, dtype=np.float64)
    if uv.shape != (2, *y.shape):
        raise ValueError(
            f"UV shape {uv.shape} does not match Y shape {y.shape}; expected (2, H, W)"
        )
    yuv = np.stack([y, uv[0], uv[1]], axis=-1)
    return quantize(yuv_to_rgb(yuv))


def chroma_magnitude(uv: np.ndarray) -> float:
    """Mean distance of UV ``[2, H, W]`` from neutral gray, in 8-bit levels.

    Used to reject grayscale and near-grayscale sources (sepia scans, faded prints) from
    training: a value near 0 means the image carries no colour to learn from.
    """
    d = np.asarray(uv, dtype=np.float32) - NEUTRAL_CHROMA
    return float(np.sqrt(d[0] ** 2 + d[1] ** 2).mean())


def yuv_to_rgb_torch(yuv, *, clip: bool = True):
    """Torch version of :func:`yuv_to_rgb` for ``[B, 3, H, W]`` float tensors (0-255)."""
    import torch

    m = torch.as_tensor(YUV_TO_RGB, dtype=yuv.dtype, device=yuv.device)
    off = torch.as_tensor(YUV_OFFSET, dtype=yuv.dtype, device=yuv.device)
    rgb = torch.einsum("oc,bchw->bohw", m, yuv - off.view(1, 3, 1, 1))
    return rgb.clamp(0.0, 255.0) if clip else rgb
