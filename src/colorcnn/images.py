"""Robust image decoding: every failure becomes an :class:`ImageRejected` with a reason.

Real datasets are messy. ILSVRC-2012 has CMYK JPEGs and a PNG saved as ``.JPEG``; SUN397 has
files that are not what their extension says, grayscale photographs and huge scans. This module
decodes by content (never by extension), applies EXIF orientation, converts CMYK, palette and
16-bit images to 8-bit RGB, and refuses truncated files, tiny images and decompression bombs,
always with a short reason code that ends up in a rejected-files table.

Size limits come from :class:`~colorcnn.config.DecodeLimits` alone and are checked on the
file's own size, read from its header before any pixel is decoded: Pillow's global
``Image.MAX_IMAGE_PIXELS`` is switched off here so that ``data.max_pixels`` is the one limit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .color import chroma_magnitude, rgb_to_y_uv_uint8
from .config import DecodeLimits
from .files import atomic_path

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
    "layout",
)


#: Limits for decoding without a size floor (the bomb limit stays); stages pass their own.
ANY_SIZE = DecodeLimits(min_side=1)


class ImageRejected(Exception):
    """An input image that cannot or must not be used, with a reason code and a detail."""

    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    a = np.asarray(im)
    scale = 257.0 if a.max(initial=0) > 255 or im.mode.startswith("I;16") else 1.0
    return Image.fromarray(np.clip(np.rint(a / scale), 0, 255).astype(np.uint8), mode="L")


def open_image(path: str | Path, limits: DecodeLimits = ANY_SIZE, *, draft_size=None):
    """Open and fully decode an image file.

    Parameters
    ----------
    path : path-like
        The file. Its extension is ignored: the format is detected from the content.
    limits : DecodeLimits
        Minimum side and decompression-bomb threshold, both applied to the file's own size.
    draft_size : tuple of int, optional
        ``(width, height)``: for JPEGs, let the decoder skip detail (DCT scaling by n/8) as
        long as both sides stay at least this large.

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
        broken = path.is_symlink()
        raise ImageRejected("missing", f"{'broken symbolic link' if broken else 'no such file'}")
    try:
        return _open_image(path, limits, draft_size)
    except ImageRejected:
        raise
    except Exception as e:  # noqa: BLE001 - any decoder failure is this file's, not the stage's
        # e.g. struct.error from rewriting a malformed EXIF while applying its orientation
        raise _decode_error(e) from None


def _open_image(path: Path, limits: DecodeLimits, draft_size) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = None  # DecodeLimits.max_pixels rules (checked below)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(path)
        except Exception as e:  # noqa: BLE001 - not an image (UnidentifiedImageError), ...
            raise ImageRejected("unreadable", f"{type(e).__name__}: {e}") from None
        with im:
            _check_size(im.size, limits)
            if draft_size is not None and im.format == "JPEG" and im.mode == "RGB":
                fast = _decode_jpeg_scaled(path, im, draft_size)
                if fast is not None:
                    return _to_standard_mode(fast)
            if draft_size is not None and im.format == "JPEG":
                im.draft("RGB" if im.mode != "L" else "L", tuple(int(s) for s in draft_size))
            im.load()
            im = ImageOps.exif_transpose(im)
    return _to_standard_mode(im)


def _check_size(size: tuple[int, int], limits: DecodeLimits) -> None:
    w, h = size
    if w * h > limits.max_pixels:
        raise ImageRejected(
            "decompression_bomb", f"{w}x{h} = {w * h} pixels > data.max_pixels {limits.max_pixels}"
        )
    if min(w, h) < limits.min_side:
        raise ImageRejected("too_small", f"{w}x{h}: shorter side < min_side {limits.min_side}")


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


def _to_standard_mode(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        im = _sixteen_bit_to_l(im)
    elif mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, RGBa, ...
    # A palette whose entries are all gray is a gray image.
    if im.mode != "L" and mode == "P" and _all_channels_equal(im):
        im = im.convert("L")
    return im


def _all_channels_equal(im: Image.Image) -> bool:
    a = np.asarray(im)[..., :3]
    return bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())


def load_rgb(path, limits: DecodeLimits = ANY_SIZE, *, draft_size=None) -> Image.Image:
    """Decode ``path`` to an 8-bit RGB PIL image (alpha dropped), rejecting gray sources."""
    im = open_image(path, limits, draft_size=draft_size)
    if im.mode == "L":
        raise ImageRejected("grayscale", "single-channel source (no chroma)")
    return drop_alpha(im)


def drop_alpha(im: Image.Image) -> Image.Image:
    """The image without its alpha channel (the colour under transparent pixels as it is)."""
    return im.convert(im.mode[:-1]) if im.mode in ("RGBA", "LA") else im


def reject_gray(uv: np.ndarray, min_chroma: float) -> None:
    """Raise ``grayscale`` / ``near_grayscale`` when UV ``[2, H, W]`` carries (almost) no colour:
    mean distance from neutral below ``min_chroma`` levels. Shared by training and test data."""
    chroma = chroma_magnitude(uv)
    if chroma == 0.0:
        raise ImageRejected("grayscale", "colour file with equal channels (no chroma)")
    if chroma < min_chroma:
        raise ImageRejected("near_grayscale", f"mean chroma {chroma:.3f} < min_chroma {min_chroma}")


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
    aspect ratio. ``resample`` is the antialiased filter. PIL's ``reducing_gap`` speeds up
    large reductions without visible loss.
    """
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


def gray_version(path, limits: DecodeLimits = ANY_SIZE) -> np.ndarray:
    """A test image's gray version, the input every system of the study colorizes (and the
    gray baseline's image): its quantized Y, ``uint8`` ``(H, W)``."""
    return rgb_to_y_uv_uint8(np.asarray(load_rgb(path, limits)))[0]


def save_png(path, image: np.ndarray, alpha: np.ndarray | None = None, compression: int = 1):
    """Write ``image`` (RGB or gray ``uint8``; ``alpha`` added if given) as a PNG, atomically."""
    im = Image.fromarray(image)
    if alpha is not None:
        im.putalpha(Image.fromarray(alpha))
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG", compress_level=compression)
