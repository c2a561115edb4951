"""Colorizing images of any resolution with a trained checkpoint.

Per image: decode (any mode: RGB, gray, RGBA, palette, 16-bit), compute the full-resolution Y
with the paper's formula, resize Y to the model size, predict UV there, upsample UV bilinearly
to the original size and recombine it with the original full-resolution Y. Images are processed
in batches at the model size, decoding and writing overlapped with the network (threads);
unreadable files and outputs that cannot be written are reported and skipped, never fatal.

Output names keep the whole source name and add ``.png`` (``sun_x.jpg`` → ``sun_x.jpg.png``),
so two sources never map to one output; inputs that would still collide (the same relative
path under two input folders) are refused before any work, with the list.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from .color import RGB_TO_YUV, yuv_to_rgb_torch
from .config import ColorizeOptions, DecodeLimits
from .files import TMP_PREFIX
from .images import ANY_SIZE, ImageRejected, drop_alpha, open_image, save_png
from .layout import is_image_name, output_name
from .model import InferenceNet, uv_of_logits
from .runtime import autocast, select_device

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


class Colorizer:
    """Batched colorization with a trained model at its training size (run as its
    :class:`~colorcnn.model.InferenceNet`: the same function, faster). ``bf16`` (autocast)
    and ``compile`` (``torch.compile``) apply on any device."""

    def __init__(
        self,
        model,
        size: int,
        device: str | torch.device = "cpu",
        bf16: bool = False,
        compile: bool = False,
    ):
        self.device = torch.device(device)
        self.model = InferenceNet(model.eval()).to(self.device)
        self.size = size
        self.bf16 = bf16
        self.network = torch.compile(self.model, dynamic=False) if compile else self.model

    @classmethod
    def from_checkpoint(
        cls,
        path,
        device="auto",
        size: int | None = None,
        bf16: bool | None = None,
        compile: bool = False,
    ) -> Colorizer:
        """``bf16`` by default on CUDA only (on a CPU it is slower than float32)."""
        dev = select_device(device)
        ck = load_checkpoint(path)
        trained = (ck.get("config") or {}).get("image_size")
        image_size = size or trained
        if image_size is None:
            raise ValueError(f"{path} does not record its image size: pass size=")
        if trained and trained != image_size:
            log.warning("model trained at %d px is run at %d px", trained, image_size)
        try:
            model = model_from_checkpoint(ck)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:  # missing keys, shapes
            raise CheckpointError(
                f"checkpoint {path} does not hold a network this version can run "
                f"({type(e).__name__}: {str(e).splitlines()[0]}): use a model.pt or last.pt "
                "that training wrote"
            ) from None
        desc = ck.get("backbone_weights", "?")
        log.info(
            "checkpoint %s: step %s, backbone %s, size %d", path, ck.get("step"), desc, image_size
        )
        bf16 = dev.type == "cuda" if bf16 is None else bf16
        return cls(model, image_size, dev, bf16=bf16, compile=compile)

    def model_input(self, y: np.ndarray) -> torch.Tensor:
        """Full-resolution Y → the network's input ``(1, size, size)`` (on the CPU)."""
        return y_to_model_input(y, self.size)

    @torch.no_grad()
    def predict(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """UV at the model size (0-255, ``(2, s, s)`` float32 on the model's device) for a
        batch of :meth:`model_input` tensors."""
        batch = torch.stack(inputs).to(self.device)
        with autocast(self.device, self.bf16):
            uv = uv_of_logits(self.network(batch))  # the network compiled, when asked
        return list(uv)

    def predict_uv(self, ys: list[np.ndarray]) -> list[torch.Tensor]:
        """:meth:`predict` for full-resolution Y planes."""
        return self.predict([self.model_input(y) for y in ys])

    def colorize_arrays(self, ys: list[np.ndarray]) -> list[np.ndarray]:
        return [recombine(y, uv) for y, uv in zip(ys, self.predict_uv(ys), strict=True)]


def collect_inputs(inputs, exclude: str | Path | None = None) -> list[tuple[Path, Path]]:
    """Expand files and folders into ``(path, output-relative path)`` pairs.

    A file given directly keeps its name; a folder's images keep their path relative to it
    (searched recursively), except those under ``exclude`` (the output folder, when it lies
    inside an input folder: its PNGs are not colorized again). Raises ``ValueError`` listing
    the inputs when two of them would write the same output.
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    found = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if skip is not None and f.resolve().is_relative_to(skip):
                    continue
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


def io_workers() -> int:
    """Threads that decode and write beside the network: one per CPU (at most 8). Decoding,
    the recombination and zlib run outside the GIL."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def colorize_files(
    colorizer: Colorizer,
    pairs,
    out_dir,
    *,
    batch_size: int = ColorizeOptions.batch_size,
    alpha: str = ColorizeOptions.alpha,
    compression: int = ColorizeOptions.compression,
    progress: bool = True,
    workers: int | None = None,
) -> dict:
    """Colorize ``(input, relative output)`` pairs into ``out_dir`` as PNGs.

    A pipeline: while the network runs on one batch, threads decode the next one and
    recombine and write the previous one (at most three batches in memory). Returns
    ``{"written": [...], "failed": [(path, reason), ...]}`` in input order; a file that cannot
    be read, or an output that cannot be written, is logged and skipped, the rest goes on.
    """
    out_dir = Path(out_dir)
    for leftover in out_dir.rglob(f"{TMP_PREFIX}*"):  # a killed run's half-written PNGs
        leftover.unlink(missing_ok=True)
    outcome: list[tuple[str, str] | None] = [None] * len(pairs)  # per input: (kind, detail)
    batches = [range(i, min(i + batch_size, len(pairs))) for i in range(0, len(pairs), batch_size)]

    def decode(i):
        try:
            d = decode_for_colorize(pairs[i][0], alpha)
        except ImageRejected as e:
            return e
        return d, colorizer.model_input(d.y)

    def write(i, d: Decoded, uv: torch.Tensor) -> tuple[str, str]:
        dest = out_dir / pairs[i][1]
        try:
            save_png(dest, recombine(d.y, uv), d.alpha, compression)
        except OSError as e:
            return "failed", f"cannot write {dest}: {e.strerror or e}"
        return "written", str(dest)

    def finish(futures) -> None:
        for i, fut in futures:
            outcome[i] = fut.result()
            if outcome[i][0] == "failed":
                log.warning("skipped %s: %s", pairs[i][0], outcome[i][1])

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), unit="image", mininterval=5)
    with ThreadPoolExecutor(workers or io_workers(), thread_name_prefix="colorize-io") as pool:
        ahead = deque([[pool.submit(decode, i) for i in b] for b in batches[:1]])
        writing: deque = deque()
        for k, b in enumerate(batches):
            if k + 1 < len(batches):  # decode the next batch while this one runs
                ahead.append([pool.submit(decode, i) for i in batches[k + 1]])
            ok = []
            for i, fut in zip(b, ahead.popleft(), strict=True):
                r = fut.result()
                if isinstance(r, ImageRejected):
                    outcome[i] = ("failed", str(r))
                    log.warning("skipped %s: %s", pairs[i][0], r)
                else:
                    ok.append((i, r[0], r[1]))
            if ok:
                uvs = colorizer.predict([x for _, _, x in ok])
                writing.append(
                    [
                        (i, pool.submit(write, i, d, uv))
                        for (i, d, _), uv in zip(ok, uvs, strict=True)
                    ]
                )
            while len(writing) > 1:
                finish(writing.popleft())
            if bar is not None:
                bar.update(len(b))
        while writing:
            finish(writing.popleft())
    if bar is not None:
        bar.close()
    written = [detail for kind, detail in outcome if kind == "written"]
    failed = [
        (str(src), o[1]) for (src, _), o in zip(pairs, outcome, strict=True) if o[0] == "failed"
    ]
    log.info("colorized %d images, skipped %d", len(written), len(failed))
    return {"written": written, "failed": failed}
