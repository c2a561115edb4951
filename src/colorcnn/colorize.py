"""Colorizing images of any resolution with a trained checkpoint.

Per image: decode (any mode: RGB, gray, RGBA, palette, 16-bit), compute the full-resolution Y
with the paper's formula, resize Y to the model size, predict UV there, upsample UV bilinearly
to the original size and recombine it with the original full-resolution Y. Images are processed
in batches at the model size; unreadable files are reported and skipped, never fatal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .color import RGB_TO_YUV, quantize, yuv_to_rgb
from .images import DecodeLimits, ImageRejected, flatten_alpha, open_image
from .io import atomic_path
from .sampling import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)


@dataclass
class Decoded:
    """One input image: full-resolution Y (float64, 0-255) and, if any, its alpha."""

    y: np.ndarray  # (H, W)
    alpha: np.ndarray | None  # (H, W) uint8


def decode_for_colorize(
    path, alpha: str = "drop", limits: DecodeLimits = DecodeLimits()
) -> Decoded:
    """Decode ``path`` to full-resolution Y. ``alpha="keep"`` keeps an alpha channel for the
    output; ``"drop"`` discards it (the colour under transparent pixels is used as is)."""
    if alpha not in ("drop", "keep"):
        raise ValueError(f"alpha must be 'drop' or 'keep', got {alpha!r}")
    im = open_image(path, limits)
    a = np.asarray(im.getchannel("A")) if im.mode in ("RGBA", "LA") and alpha == "keep" else None
    im = flatten_alpha(im, "drop")
    arr = np.asarray(im, dtype=np.float64)
    y = arr if arr.ndim == 2 else arr @ RGB_TO_YUV[0]  # gray sources are their own Y
    return Decoded(y, a)


def y_to_model_input(y: np.ndarray, size: int) -> torch.Tensor:
    """Full-resolution Y ``(H, W)`` → ``(1, size, size)`` float32, antialiased bilinear."""
    t = torch.from_numpy(y).float()[None, None]
    return F.interpolate(t, (size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def recombine(y: np.ndarray, uv_small: torch.Tensor) -> np.ndarray:
    """Upsample UV ``(2, s, s)`` (0-255) to Y's size and convert to ``uint8`` RGB ``(H, W, 3)``."""
    h, w = y.shape
    uv = F.interpolate(uv_small[None].double(), (h, w), mode="bilinear", align_corners=False)[0]
    yuv = np.stack([y, uv[0].numpy(), uv[1].numpy()], axis=-1)
    return quantize(yuv_to_rgb(yuv))


def save_png(path: Path, rgb: np.ndarray, alpha: np.ndarray | None = None) -> None:
    im = Image.fromarray(rgb)
    if alpha is not None:
        im.putalpha(Image.fromarray(alpha))
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


class Colorizer:
    """Batched colorization with a trained model at its training size."""

    def __init__(self, model, size: int, device: str | torch.device = "cpu", bf16: bool = False):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.size = size
        self.bf16 = bf16 and self.device.type == "cuda"

    @classmethod
    def from_checkpoint(cls, path, device="auto", size: int | None = None) -> Colorizer:
        from .train import load_checkpoint, model_from_checkpoint, select_device

        dev = select_device(device)
        ck = load_checkpoint(path)
        trained = ck["config"].get("image_size")
        image_size = size or trained
        if image_size is None:
            raise ValueError(f"{path} does not record its image size: pass size=")
        if trained and trained != image_size:
            log.warning("model trained at %d px is run at %d px", trained, image_size)
        log.info(
            "checkpoint %s: step %s, backbone %s, size %d",
            path,
            ck["step"],
            ck["backbone_weights"],
            image_size,
        )
        return cls(model_from_checkpoint(ck), image_size, dev, bf16=True)

    @torch.no_grad()
    def predict_uv(self, ys: list[np.ndarray]) -> list[torch.Tensor]:
        """UV at the model size (0-255, ``(2, s, s)`` float32 on CPU) for full-res Y planes."""
        batch = torch.stack([y_to_model_input(y, self.size) for y in ys]).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            uv = self.model.predict_uv(batch)
        return list(uv.float().cpu())

    def colorize_arrays(self, ys: list[np.ndarray]) -> list[np.ndarray]:
        return [recombine(y, uv) for y, uv in zip(ys, self.predict_uv(ys), strict=True)]


def collect_inputs(inputs) -> list[tuple[Path, Path]]:
    """Expand files and folders into ``(path, output-relative path)`` pairs, sorted."""
    found = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                    found.append((f, f.relative_to(p).with_suffix(".png")))
        else:
            found.append((p, Path(p.name).with_suffix(".png")))
    return found


def colorize_files(
    colorizer: Colorizer,
    pairs,
    out_dir,
    *,
    batch_size: int = 8,
    alpha: str = "drop",
    progress: bool = True,
) -> dict:
    """Colorize ``(input, relative output)`` pairs into ``out_dir`` as PNGs.

    Returns ``{"written": [...], "failed": [(path, reason), ...]}``; a file that cannot be
    read is logged and skipped, the batch goes on.
    """
    out_dir = Path(out_dir)
    written, failed = [], []
    it = range(0, len(pairs), batch_size)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, unit="batch", mininterval=5)
    for start in it:
        chunk, decoded = [], []
        for src, rel in pairs[start : start + batch_size]:
            try:
                decoded.append(decode_for_colorize(src, alpha))
                chunk.append((src, rel))
            except ImageRejected as e:
                log.warning("skipped %s: %s", src, e)
                failed.append((str(src), str(e)))
        if not decoded:
            continue
        for (_src, rel), d, rgb in zip(
            chunk, decoded, colorizer.colorize_arrays([d.y for d in decoded]), strict=True
        ):
            save_png(out_dir / rel, rgb, d.alpha)
            written.append(str(out_dir / rel))
    log.info("colorized %d images, skipped %d", len(written), len(failed))
    return {"written": written, "failed": failed}
