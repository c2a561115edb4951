"""Zhang et al.'s published colorizers as peers in the study (``study.peers``): ECCV16
("Colorful Image Colorization", 2016) and SIGGRAPH17 ("Real-Time User-Guided Image
Colorization", 2017, run without user hints), from their published weights.

The networks are restated here from the architecture of richzhang/colorization's
``colorizers`` package, with its state-dict key names (``model1.0.weight``, ...), so the
published files load strictly. Their pipeline is the package's: the RGB input resized to
256x256 (PIL bicubic), both sizes converted to CIE L*a*b* (scikit-image), L normalised as
``(L - 50) / 100``, ab predicted at 256x256 (ECCV16: a softmax over 313 bins projected to ab
and upsampled 4x; SIGGRAPH17: regressed, with empty hints), times 110, upsampled bilinearly
to the original size, joined with the original L and converted back to RGB. The one choice of
ours: the float RGB is rounded to 8 bits (the package's demo saves through matplotlib, which
truncates).

In the study every system sees the same input, the test image's gray version (its Y, as the
gray baseline shows it), so a peer's L is that gray image's L*.

Weights are a verified input (:func:`load_weights`): a file with the published name is checked
against the SHA-256 prefix that name carries (as ``torch.hub`` checks it on download), and any
file must hold exactly the published keys with the published shapes, loaded strictly.
``weights: random`` builds the network under seed 0 instead, for the demo only (its name must
say ``random``: its outputs are not the peer's).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import statedicts
from .statedicts import WeightsError, hash_prefix_of  # noqa: F401 - the peers' API

log = logging.getLogger(__name__)

L_CENT, L_NORM, AB_NORM = 50.0, 100.0, 110.0
INPUT_SIZE = 256  # the package's HW=(256, 256)
RANDOM_SEED = 0


@dataclass(frozen=True)
class Published:
    file: str  # the published file's name: its hash prefix follows the last '-'
    url: str


_S3 = "https://colorizers.s3.us-east-2.amazonaws.com/"
PUBLISHED = {
    name: Published(file, _S3 + file)
    for name, file in (
        ("eccv16", "colorization_release_v2-9b330a0b.pth"),
        ("siggraph17", "siggraph17-df00044c.pth"),
    )
}


def _convs(channels, *, strides=None, dilation=1, relu_first=False, norm=True):
    """3x3 convolutions, each followed by a ReLU, then batch norm: the package's blocks, with
    its layer indices (so its key names)."""
    layers: list[nn.Module] = [nn.ReLU(True)] if relu_first else []
    for i, (cin, cout) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
        stride = strides[i] if strides else 1
        layers += [nn.Conv2d(cin, cout, 3, stride, dilation, dilation), nn.ReLU(True)]
    if norm:
        layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


class ECCV16(nn.Module):
    """ECCV16: L (B, 1, H, W) in [0, 100] to ab (B, 2, H, W); H and W multiples of 8."""

    def __init__(self):
        super().__init__()
        self.model1 = _convs([1, 64, 64], strides=[1, 2])
        self.model2 = _convs([64, 128, 128], strides=[1, 2])
        self.model3 = _convs([128, 256, 256, 256], strides=[1, 1, 2])
        self.model4 = _convs([256, 512, 512, 512])
        self.model5 = _convs([512, 512, 512, 512], dilation=2)
        self.model6 = _convs([512, 512, 512, 512], dilation=2)
        self.model7 = _convs([512, 512, 512, 512])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, 2, 1),
            *_convs([256, 256, 256], relu_first=True, norm=False),
            nn.Conv2d(256, 313, 1),
        )
        self.model_out = nn.Conv2d(313, 2, 1, bias=False)

    def forward(self, lum: torch.Tensor) -> torch.Tensor:
        x = (lum - L_CENT) / L_NORM
        for block in (self.model1, self.model2, self.model3, self.model4):
            x = block(x)
        for block in (self.model5, self.model6, self.model7, self.model8):
            x = block(x)
        ab = self.model_out(torch.softmax(x, dim=1))
        return F.interpolate(ab, scale_factor=4, mode="bilinear") * AB_NORM


class SIGGRAPH17(nn.Module):
    """SIGGRAPH17 without user hints: L (B, 1, H, W) to ab (B, 2, H, W); H, W multiples of 8."""

    def __init__(self, classes: int = 529):
        super().__init__()
        self.model1 = _convs([4, 64, 64])
        self.model2 = _convs([64, 128, 128])
        self.model3 = _convs([128, 256, 256, 256])
        self.model4 = _convs([256, 512, 512, 512])
        self.model5 = _convs([512, 512, 512, 512], dilation=2)
        self.model6 = _convs([512, 512, 512, 512], dilation=2)
        self.model7 = _convs([512, 512, 512, 512])
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, 2, 1))
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, 3, 1, 1))
        self.model8 = _convs([256, 256, 256], relu_first=True)
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, 4, 2, 1))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, 3, 1, 1))
        self.model9 = _convs([128, 128], relu_first=True)
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, 4, 2, 1))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, 3, 1, 1))
        self.model10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(128, 128, 3, 1, 1), nn.LeakyReLU(0.2))
        # the classification head is in the published file but not in the ab output
        self.model_class = nn.Sequential(nn.Conv2d(256, classes, 1))
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(self, lum: torch.Tensor) -> torch.Tensor:
        hints = torch.zeros_like(lum).expand(-1, 3, -1, -1)  # ab / 110 and the mask: none
        c1 = self.model1(torch.cat([(lum - L_CENT) / L_NORM, hints], dim=1))
        c2 = self.model2(c1[:, :, ::2, ::2])
        c3 = self.model3(c2[:, :, ::2, ::2])
        x = self.model7(self.model6(self.model5(self.model4(c3[:, :, ::2, ::2]))))
        x = self.model8(self.model8up(x) + self.model3short8(c3))
        x = self.model9(self.model9up(x) + self.model2short9(c2))
        x = self.model10(self.model10up(x) + self.model1short10(c1))
        return self.model_out(x) * AB_NORM


NETWORKS = {"eccv16": ECCV16, "siggraph17": SIGGRAPH17}


def published_shapes(network: str) -> dict[str, tuple[int, ...]]:
    """The published state dict's keys and shapes (batch norm's ``num_batches_tracked``, which
    files from before PyTorch 0.4.1 lack, left out)."""
    with torch.device("meta"):
        net = NETWORKS[network]()
    return {
        k: tuple(v.shape)
        for k, v in net.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def check_state(network: str, state: dict, source: str = "the state dict") -> dict:
    """``state`` if it holds exactly the published keys with the published shapes, or
    :class:`~colorcnn.statedicts.WeightsError` listing the differences."""
    what = f"{network}'s published state dict ({PUBLISHED[network].file})"
    return statedicts.check_state(state, published_shapes(network), what, source)


def load_weights(network: str, weights: str | Path) -> tuple[nn.Module, dict]:
    """The peer ``network`` in eval mode with verified ``weights`` (a file, or ``random``),
    and a record of what was loaded (its SHA-256, how it was verified)."""
    if network not in NETWORKS:
        raise ValueError(f"no peer network {network!r}; there are {', '.join(NETWORKS)}")
    if str(weights) == "random":
        torch.manual_seed(RANDOM_SEED)
        net = NETWORKS[network]()
        record = {"network": network, "weights": "random", "seed": RANDOM_SEED}
        log.warning("%s: RANDOM weights (seed %d): not the published network", network,
                    RANDOM_SEED)  # fmt: skip
        return net.eval(), record
    what = f"{network}'s published state dict ({PUBLISHED[network].file})"
    state, record = statedicts.read_verified(
        weights, published_shapes(network), what, published=PUBLISHED[network].url
    )
    net = NETWORKS[network]()
    net.load_state_dict(state, strict=True)
    return net.eval(), {"network": network, **record}


@functools.cache
def _gray_lightness() -> np.ndarray:
    """``rgb2lab``'s L* of the 256 gray levels (R = G = B)."""
    from skimage import color

    ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)
    return color.rgb2lab(ramp)[:, 0, 0].astype(np.float32)


def lightness(image: np.ndarray) -> np.ndarray:
    """CIE L* (float32) of a uint8 image: RGB through scikit-image's ``rgb2lab``; a gray
    (H, W) image as the RGB image of three equal channels, through a table of the same
    function's 256 values (the same numbers, without converting every pixel)."""
    from skimage import color

    if image.ndim == 2:
        return _gray_lightness()[image]
    return color.rgb2lab(image)[..., 0].astype(np.float32)


def _small(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), resample=Image.BICUBIC))


@torch.no_grad()
def colorize_batch(net: nn.Module, images: list[np.ndarray], size: int = INPUT_SIZE):
    """The peer's pipeline on uint8 images (gray (H, W) or RGB (H, W, 3), any sizes): one
    network pass on their 256x256 versions, then each at its own size; uint8 RGB out."""
    from skimage import color

    dev = next(net.parameters()).device  # the inputs go where the network is
    small = np.stack([lightness(_small(im, size)) for im in images])
    ab_small = net(torch.from_numpy(small)[:, None].to(dev)).float()
    out = []
    for im, ab in zip(images, ab_small, strict=True):
        lum = torch.from_numpy(lightness(im))[None, None].to(dev)
        if ab.shape[-2:] != lum.shape[-2:]:
            ab = F.interpolate(ab[None], size=lum.shape[-2:], mode="bilinear")[0]
        lab = torch.cat([lum[0], ab]).cpu().numpy().transpose(1, 2, 0)
        with warnings.catch_warnings():  # out-of-gamut colours are clipped, as the package does
            warnings.filterwarnings("ignore", "Conversion from CIE-LAB", UserWarning)
            rgb = color.lab2rgb(lab)
        out.append((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))
    return out


def colorize_file(net: nn.Module, path, size: int = INPUT_SIZE) -> np.ndarray:
    """The package's demo on one image file (its own colours' L if it has colours)."""
    from PIL import Image

    image = np.asarray(Image.open(path))
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    return colorize_batch(net, [image], size)[0]


def colorize_test_set(
    net: nn.Module,
    root: str | Path,
    rows: list[dict],
    out_dir: str | Path,
    *,
    batch_size: int = 8,
    size: int = INPUT_SIZE,
    compression: int = 1,
) -> list[Path]:
    """Each test image's gray version (:func:`~colorcnn.images.gray_version`) through the
    peer, written where ``colorcnn colorize`` writes (``<out_dir>/<path>.png``); images
    already written (by an interrupted run) are kept."""
    from .images import gray_version, save_png
    from .layout import output_name

    dests = [Path(out_dir) / output_name(r["path"]) for r in rows]
    todo = [(r, d) for r, d in zip(rows, dests, strict=True) if not d.exists()]
    log.info("%d test images, %d already colorized", len(rows), len(rows) - len(todo))
    for i in range(0, len(todo), batch_size):
        chunk = todo[i : i + batch_size]
        grays = [gray_version(Path(root) / r["path"]) for r, _ in chunk]
        for (_, dest), rgb in zip(chunk, colorize_batch(net, grays, size), strict=True):
            save_png(dest, rgb, compression=compression)
        log.info("%d / %d colorized", min(i + batch_size, len(todo)), len(todo))
    return dests
