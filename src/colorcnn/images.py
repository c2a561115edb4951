"""Robust image decoding: every failure becomes an :class:`ImageRejected` with a reason.

Real datasets are messy. ILSVRC-2012 has CMYK JPEGs and a PNG saved as ``.JPEG``; SUN397 has
files that are not what their extension says, grayscale photographs and huge scans. This module
decodes by content (never by extension), applies EXIF orientation, converts CMYK, palette and
16-bit images to 8-bit RGB, and refuses truncated files and decompression bombs, always with a
short reason code that ends up in a rejected-files table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

try:  # libjpeg-turbo with DCT scaling by any n/8: the fast path for JPEG training images
    import simplejpeg
except ImportError:  # pragma: no cover - the PIL path does the same, a little slower
    simplejpeg = None

#: Reason codes written to rejected-files tables.
REASONS = (
    "missing",
    "unreadable",
    "truncated",
    "decompression_bomb",
    "too_small",
    "grayscale",
    "near_grayscale",
)

#: Modes that carry no chroma at all.
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


class ImageRejected(Exception):
    """An input image that cannot or must not be used, with a reason code and a detail."""

    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodeLimits:
    """Limits applied while decoding.

    Parameters
    ----------
    min_side : int
        Images whose shorter side is below this (in pixels, after EXIF rotation) are rejected.
    max_pixels : int
        Images with more pixels than this are rejected as decompression bombs before any pixel
        is decoded (only the header is read).
    """

    min_side: int = 1
    max_pixels: int = 178_956_970

    def __post_init__(self):
        if self.min_side < 1:
            raise ValueError(f"min_side must be >= 1, got {self.min_side}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    a = np.asarray(im)
    scale = 257.0 if a.max(initial=0) > 255 or im.mode.startswith("I;16") else 1.0
    return Image.fromarray(np.clip(np.rint(a / scale), 0, 255).astype(np.uint8), mode="L")


def open_image(path: str | Path, limits: DecodeLimits = DecodeLimits(), *, draft_size=None):
    """Open and fully decode an image file.

    Parameters
    ----------
    path : path-like
        The file. Its extension is ignored: the format is detected from the content.
    limits : DecodeLimits
        Size limits (minimum side, decompression-bomb threshold).
    draft_size : tuple of int, optional
        ``(width, height)``: for JPEGs, let the decoder skip detail (DCT scaling by 1/2, 1/4
        or 1/8) as long as both sides stay at least this large. Reduced-size decoding is much
        faster when the source is far larger than the model size.

    Returns
    -------
    PIL.Image.Image
        Decoded, EXIF-oriented image in mode ``RGB``, ``RGBA`` or ``L`` (gray sources, including
        16-bit ones scaled to 8 bits, stay gray so that callers can tell them apart).

    Raises
    ------
    ImageRejected
        With reason ``missing``, ``unreadable``, ``truncated``, ``decompression_bomb`` or
        ``too_small``.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageRejected("missing", f"no such file: {path}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(path)
        except Image.DecompressionBombError as e:
            raise ImageRejected("decompression_bomb", str(e)) from None
        except Image.DecompressionBombWarning as e:
            raise ImageRejected("decompression_bomb", str(e)) from None
        except (OSError, ValueError, SyntaxError) as e:  # UnidentifiedImageError is an OSError
            raise ImageRejected("unreadable", f"{type(e).__name__}: {e}") from None
        with im:
            w, h = im.size
            if w * h > limits.max_pixels:
                raise ImageRejected(
                    "decompression_bomb",
                    f"{w}x{h} = {w * h} pixels > max_pixels {limits.max_pixels}",
                )
            if draft_size is not None and im.format == "JPEG" and im.mode == "RGB":
                fast = _decode_jpeg_scaled(path, im, draft_size)
                if fast is not None:
                    return _to_standard_mode(fast, limits, (w, h))
            if draft_size is not None and im.format == "JPEG":
                im.draft("RGB" if im.mode != "L" else "L", tuple(int(s) for s in draft_size))
            try:
                im.load()
                im = ImageOps.exif_transpose(im)
            except Image.DecompressionBombError as e:
                raise ImageRejected("decompression_bomb", str(e)) from None
            except (OSError, ValueError, SyntaxError, SystemError) as e:
                raise _decode_error(e) from None
    return _to_standard_mode(im, limits, (w, h))


def _decode_error(e: Exception) -> ImageRejected:
    msg = str(e)
    kind = (
        "truncated"
        if any(k in msg for k in ("truncated", "broken", "Premature end"))
        else "unreadable"
    )
    return ImageRejected(kind, f"{type(e).__name__}: {msg}")


def _decode_jpeg_scaled(path: Path, header: Image.Image, min_size) -> Image.Image | None:
    """Decode an RGB JPEG with libjpeg-turbo's DCT scaling (any n/8) so both sides stay at
    least ``min_size``; EXIF orientation applied. ``None`` when simplejpeg is unavailable."""
    if simplejpeg is None:
        return None
    orientation = header.getexif().get(0x0112, 1)
    try:
        a = simplejpeg.decode_jpeg(
            path.read_bytes(),
            colorspace="RGB",
            min_width=int(min_size[0]),
            min_height=int(min_size[1]),
        )
    except ValueError as e:
        raise _decode_error(e) from None
    im = Image.fromarray(a)
    if orientation != 1:
        im.info["exif"] = header.info.get("exif", b"")
        im.getexif()[0x0112] = orientation
        im = ImageOps.exif_transpose(im)
    return im


def _to_standard_mode(im: Image.Image, limits: DecodeLimits, header_size) -> Image.Image:
    mode = im.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        im = _sixteen_bit_to_l(im)
    elif mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        im = im.convert("RGB")
    elif mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGB")
    # A palette whose entries are all gray is a gray image.
    if im.mode != "L" and mode == "P" and _all_channels_equal(im):
        im = im.convert("L")
    if min(im.size) < limits.min_side:
        w, h = header_size
        raise ImageRejected(
            "too_small", f"{im.size[0]}x{im.size[1]} (file {w}x{h}) < min_side {limits.min_side}"
        )
    return im


def _all_channels_equal(im: Image.Image) -> bool:
    a = np.asarray(im)[..., :3]
    return bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())


def load_rgb(path, limits: DecodeLimits = DecodeLimits(), *, draft_size=None, alpha="drop"):
    """Decode ``path`` to an 8-bit RGB PIL image, rejecting gray sources.

    ``alpha="drop"`` discards an alpha channel; ``alpha="white"`` composites on white first.
    """
    im = open_image(path, limits, draft_size=draft_size)
    if im.mode == "L":
        raise ImageRejected("grayscale", "single-channel source (no chroma)")
    return flatten_alpha(im, alpha)


def flatten_alpha(im: Image.Image, alpha: str = "drop") -> Image.Image:
    """Return an RGB or L image without alpha: dropped, or composited on white."""
    if alpha not in ("drop", "white"):
        raise ValueError(f"alpha must be 'drop' or 'white', got {alpha!r}")
    if im.mode not in ("RGBA", "LA"):
        return im
    base_mode = im.mode[:-1]
    if alpha == "drop":
        return im.convert(base_mode)
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return Image.alpha_composite(bg, im.convert("RGBA")).convert(base_mode)


RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def resize_to_model(
    im: Image.Image, size: int, mode: str = "crop", resample: str = "bilinear"
) -> Image.Image:
    """Resize to ``size x size``.

    ``mode="crop"`` scales the shorter side to ``size`` and keeps the centre square (only the
    kept region is resampled); ``mode="stretch"`` scales both sides to ``size`` ignoring the
    aspect ratio. ``resample`` is the antialiased filter (``bilinear``, as torchvision's
    ImageNet preprocessing; ``bicubic``; ``lanczos``). PIL's ``reducing_gap`` speeds up large
    reductions without visible loss.
    """
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, got {resample!r}")
    w, h = im.size
    if mode == "crop":
        side = min(w, h)
        left, top = (w - side) / 2.0, (h - side) / 2.0
        box = (left, top, left + side, top + side)
    elif mode == "stretch":
        box = (0, 0, w, h)
    else:
        raise ValueError(f"resize mode must be 'crop' or 'stretch', got {mode!r}")
    if (w, h) == (size, size):
        return im
    return im.resize((size, size), RESAMPLE[resample], box=box, reducing_gap=3.0)
