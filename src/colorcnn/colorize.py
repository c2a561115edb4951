"""Colorizing images of any resolution with a trained checkpoint.

Per image: decode (any mode: RGB, gray, RGBA, palette, 16-bit), compute the full-resolution Y
with the paper's formula, resize Y to the model size, predict UV there, upsample UV bilinearly
to the original size and recombine it with the original full-resolution Y. Images are processed
in batches at the model size; unreadable files are reported and skipped, never fatal.

Output names keep the whole source name and add ``.png`` (``sun_x.jpg`` → ``sun_x.jpg.png``),
so two sources never map to one output; inputs that would still collide (the same relative
path under two input folders) are refused before any work, with the list.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .checkpoint import load_checkpoint, model_from_checkpoint
from .color import RGB_TO_YUV, yuv_to_rgb_torch
from .config import DecodeLimits
from .files import atomic_path
from .images import ANY_SIZE, ImageRejected, drop_alpha, open_image
from .layout import is_image_name, output_name
from .model import InferenceNet
from .runtime import select_device

log = logging.getLogger(__name__)


@dataclass
class Decoded:
    """One input image: full-resolution Y (float64, 0-255) and, if any, its alpha."""

    y: np.ndarray  # (H, W)
    alpha: np.ndarray | None  # (H, W) uint8


def decode_for_colorize(path, alpha: str = "drop", limits: DecodeLimits = ANY_SIZE):
    """Decode ``path`` to full-resolution Y. ``alpha="keep"`` keeps an alpha channel for the
    output; ``"drop"`` discards it (the colour under transparent pixels is used as is)."""
    im = open_image(path, limits)
    a = np.asarray(im.getchannel("A")) if im.mode in ("RGBA", "LA") and alpha == "keep" else None
    arr = np.asarray(drop_alpha(im), dtype=np.float64)
    y = arr if arr.ndim == 2 else arr @ RGB_TO_YUV[0]  # gray sources are their own Y
    return Decoded(y, a)


def y_to_model_input(y: np.ndarray, size: int) -> torch.Tensor:
    """Full-resolution Y ``(H, W)`` → ``(1, size, size)`` float32, antialiased bilinear."""
    t = torch.from_numpy(y).float()[None, None]
    return F.interpolate(t, (size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def recombine(y: np.ndarray, uv_small: torch.Tensor) -> np.ndarray:
    """Upsample UV ``(2, s, s)`` (0-255) bilinearly to Y's size and convert Y, U, V to ``uint8``
    RGB ``(H, W, 3)`` (float32 on UV's device; within one level of a float64 evaluation)."""
    h, w = y.shape
    dev = uv_small.device
    uv = F.interpolate(uv_small[None].float(), (h, w), mode="bilinear", align_corners=False)
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).to(dev)[None, None]
    rgb = yuv_to_rgb_torch(torch.cat([yt, uv], dim=1))  # (1, 3, H, W), clipped to 0-255
    return rgb.round_()[0].to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def save_png(path: Path, rgb: np.ndarray, alpha: np.ndarray | None, compression: int) -> None:
    im = Image.fromarray(rgb)
    if alpha is not None:
        im.putalpha(Image.fromarray(alpha))
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG", compress_level=compression)


class Colorizer:
    """Batched colorization with a trained model at its training size (run as its
    :class:`~colorcnn.model.InferenceNet`: the same function, about 1.4x faster)."""

    def __init__(self, model, size: int, device: str | torch.device = "cpu", bf16: bool = False):
        self.device = torch.device(device)
        self.model = InferenceNet(model.eval()).to(self.device)
        self.size = size
        self.bf16 = bf16 and self.device.type == "cuda"

    @classmethod
    def from_checkpoint(cls, path, device="auto", size: int | None = None) -> Colorizer:
        dev = select_device(device)
        ck = load_checkpoint(path)
        trained = ck["config"].get("image_size")
        image_size = size or trained
        if image_size is None:
            raise ValueError(f"{path} does not record its image size: pass size=")
        if trained and trained != image_size:
            log.warning("model trained at %d px is run at %d px", trained, image_size)
        desc = ck["backbone_weights"]
        log.info("checkpoint %s: step %s, backbone %s, size %d", path, ck["step"], desc, image_size)
        return cls(model_from_checkpoint(ck), image_size, dev, bf16=True)

    @torch.no_grad()
    def predict_uv(self, ys: list[np.ndarray]) -> list[torch.Tensor]:
        """UV at the model size (0-255, ``(2, s, s)`` float32 on the model's device) for
        full-resolution Y planes."""
        batch = torch.stack([y_to_model_input(y, self.size) for y in ys]).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            uv = self.model.predict_uv(batch)
        return list(uv.float())

    def colorize_arrays(self, ys: list[np.ndarray]) -> list[np.ndarray]:
        return [recombine(y, uv) for y, uv in zip(ys, self.predict_uv(ys), strict=True)]


def collect_inputs(inputs) -> list[tuple[Path, Path]]:
    """Expand files and folders into ``(path, output-relative path)`` pairs.

    A file given directly keeps its name; a folder's images keep their path relative to it
    (searched recursively). Raises ``ValueError`` listing the inputs when two of them would
    write the same output.
    """
    found = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and is_image_name(f.name):
                    found.append((f, output_name(f.relative_to(p))))
        else:
            found.append((p, output_name(p.name)))
    by_output: dict[Path, list[Path]] = {}
    for src, rel in found:
        by_output.setdefault(rel, []).append(src)
    clashes = {rel: srcs for rel, srcs in by_output.items() if len(srcs) > 1}
    if clashes:
        lines = [f"  {rel}: {', '.join(map(str, srcs))}" for rel, srcs in sorted(clashes.items())]
        raise ValueError(
            f"{len(clashes)} outputs would be written by more than one input (give the inputs "
            "in separate runs or rename them):\n" + "\n".join(lines[:20])
        )
    return found


def check_output_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` and make sure files can be written there, before any work."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} exists and is not a folder: choose a folder for the PNGs")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"cannot write to the output folder {out}: {e.strerror}") from None
    return out


def colorize_files(
    colorizer: Colorizer,
    pairs,
    out_dir,
    *,
    batch_size: int = 8,
    alpha: str = "drop",
    compression: int = 1,
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
        rgbs = colorizer.colorize_arrays([d.y for d in decoded])
        for (_src, rel), d, rgb in zip(chunk, decoded, rgbs, strict=True):
            save_png(out_dir / rel, rgb, d.alpha, compression)
            written.append(str(out_dir / rel))
    log.info("colorized %d images, skipped %d", len(written), len(failed))
    return {"written": written, "failed": failed}
