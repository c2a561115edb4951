"""The paper's network: frozen VGG-16 hypercolumn **T** → two conv branches **Q** → UV.

Varga & Szirányi (ICPR 2016), section 3:

- input: the grayscale image Y, repeated into 3 channels (224×224 in the paper; any size
  divisible by 4 here, the network is fully convolutional), normalised as VGG-16 expects;
- stage 1, frozen: VGG-16 up to (not including) the third max pooling. The hypercolumn **T**
  stacks the input (3 channels) and the feature maps just before pool1, pool2 and pool3
  (conv1_2: 64, conv2_2: 128, conv3_3: 256 channels, after ReLU), upsampled bilinearly to the
  input size: 3 + 64 + 128 + 256 = 451 channels;
- stage 2, trained: two convolutional layers computed from T, concatenated into **Q** with 144
  channels, then an output convolution to 2 channels (U, V) with a sigmoid (targets are UV/255).

The paper does not give the split of Q's 144 channels, the kernel sizes or any normalisation;
:class:`HeadConfig` makes them explicit (defaults: a 3×3 branch of 128 and a 1×1 branch of 16,
batch norm, ReLU, 1×1 output), and the README says this is our reading.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

#: torchvision ``vgg16().features`` indices of the ReLUs just before pool1, pool2, pool3.
VGG16_TAPS = (3, 8, 15)
VGG16_TAP_CHANNELS = (64, 128, 256)
#: Channels of T: the 3-channel input plus the three taps.
T_CHANNELS = 3 + sum(VGG16_TAP_CHANNELS)  # 451
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _imagenet_url() -> str:
    from torchvision.models import VGG16_Weights

    return VGG16_Weights.IMAGENET1K_V1.url


#: Where torchvision publishes the ImageNet VGG-16 weights, and the file's name in the cache.
VGG16_IMAGENET_URL = _imagenet_url()
VGG16_IMAGENET_FILE = VGG16_IMAGENET_URL.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class HeadConfig:
    """Stage 2 (the trained part). ``a_channels + b_channels`` is Q's width (paper: 144)."""

    a_channels: int = 128
    a_kernel: int = 3
    b_channels: int = 16
    b_kernel: int = 1
    norm: str = "batch"
    out_kernel: int = 1

    def __post_init__(self):
        for name in ("a_channels", "b_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("a_kernel", "b_kernel", "out_kernel"):
            k = getattr(self, name)
            if k < 1 or k % 2 == 0:
                raise ValueError(f"model.{name} must be an odd kernel size >= 1, got {k}")
        if self.norm not in ("batch", "none"):
            raise ValueError(f"model.norm must be 'batch' or 'none', got {self.norm!r}")

    @property
    def q_channels(self) -> int:
        return self.a_channels + self.b_channels


class BackboneUnavailable(RuntimeError):
    """ImageNet weights were asked for but cannot be had."""


def imagenet_weights_path() -> Path:
    """Where torchvision caches the ImageNet VGG-16 weights (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_IMAGENET_FILE


def load_vgg16_features(weights: str, *, download: bool = True) -> tuple[nn.Sequential, str]:
    """The VGG-16 prefix up to pool3 (``features[:16]``) and a description of its weights.

    Parameters
    ----------
    weights : str
        ``"imagenet"`` (torchvision's weights: the cache, else a download when ``download``),
        ``"random"`` (torchvision's initialisation under the current torch seed), or a path to
        a ``.pth`` state dict of a torchvision VGG-16 (keys ``features.N.weight``/``bias``; the
        full model's or just ``features``'s).

    Raises
    ------
    BackboneUnavailable
        ImageNet weights neither cached nor downloadable, with instructions to provide them.
    """
    from torchvision.models import vgg16

    prefix = vgg16(weights=None).features[:16]
    if weights == "random":
        return prefix, "random"
    if weights == "imagenet":
        path = imagenet_weights_path()
        if not path.is_file():
            if not download:
                raise BackboneUnavailable(_weights_message(path, "downloads are disabled"))
            try:
                import socket

                old = socket.getdefaulttimeout()
                socket.setdefaulttimeout(20)
                try:
                    torch.hub.download_url_to_file(VGG16_IMAGENET_URL, str(path), progress=False)
                finally:
                    socket.setdefaulttimeout(old)
            except Exception as e:  # noqa: BLE001 - any failure means "unavailable"
                path.unlink(missing_ok=True)
                raise BackboneUnavailable(_weights_message(path, f"download failed: {e}")) from e
        source, desc = path, "imagenet"
    else:
        source, desc = Path(weights), f"file:{weights}"
        if not source.is_file():
            raise BackboneUnavailable(
                f"model.backbone_weights is {weights!r}, which is neither 'imagenet', 'random' "
                "nor an existing file"
            )
    state = torch.load(source, map_location="cpu", weights_only=True)
    state = {
        k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier")
    }
    wanted = prefix.state_dict().keys()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise BackboneUnavailable(f"{source} is not a VGG-16 state dict: missing {missing[:4]}")
    prefix.load_state_dict({k: state[k] for k in wanted})
    return prefix, desc


def _weights_message(path: Path, why: str) -> str:
    return (
        f"ImageNet VGG-16 weights are not available ({why}). Either put torchvision's file "
        f"{VGG16_IMAGENET_FILE} (from {VGG16_IMAGENET_URL}) at {path} (or set TORCH_HOME), "
        "or set model.backbone_weights to a local .pth file of a torchvision VGG-16. "
        "Only the demo may fall back to random weights (model.allow_random_fallback: true)."
    )


class Hypercolumn(nn.Module):
    """Frozen stage 1: Y ``(B, 1, H, W)`` in 0-255 → T ``(B, 451, H, W)``."""

    def __init__(self, features: nn.Sequential):
        super().__init__()
        self.features = features
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def train(self, mode: bool = True):
        # Frozen: stays in eval mode whatever the parent does.
        return super().train(False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        h, w = y.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f"input size {h}x{w} must be divisible by 4 (two VGG poolings)")
        x = (y.expand(-1, 3, -1, -1) - self.mean) / self.std  # (B, 3, H, W)
        maps = [x]
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG16_TAPS:  # (B, 64, H, W), (B, 128, H/2, W/2), (B, 256, H/4, W/4)
                maps.append(x)
        size = (h, w)
        up = [m if m.shape[-2:] == size else F.interpolate(m, size, mode="bilinear") for m in maps]
        return torch.cat(up, dim=1)  # T: (B, 451, H, W)


def _branch(cin: int, cout: int, k: int, norm: str) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=norm == "none")]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ColorizationHead(nn.Module):
    """Trained stage 2: T ``(B, 451, H, W)`` → UV logits ``(B, 2, H, W)``."""

    def __init__(self, cfg: HeadConfig):
        super().__init__()
        self.a = _branch(T_CHANNELS, cfg.a_channels, cfg.a_kernel, cfg.norm)
        self.b = _branch(T_CHANNELS, cfg.b_channels, cfg.b_kernel, cfg.norm)
        self.out = nn.Conv2d(cfg.q_channels, 2, cfg.out_kernel, padding=cfg.out_kernel // 2)

    def forward(self, t: torch.Tensor, *, return_q: bool = False):
        q = torch.cat([self.a(t), self.b(t)], dim=1)  # Q: (B, 144, H, W)
        logits = self.out(q)  # (B, 2, H, W); sigmoid(logits) = UV / 255
        return (logits, q) if return_q else logits


class ColorizationNet(nn.Module):
    """Y ``(B, 1, H, W)`` in 0-255 → UV logits; :meth:`predict_uv` gives UV in 0-255."""

    def __init__(self, features: nn.Sequential, head: HeadConfig, backbone_desc: str = "?"):
        super().__init__()
        self.hypercolumn = Hypercolumn(features)
        self.head = ColorizationHead(head)
        self.head_config = head
        self.backbone_desc = backbone_desc

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            t = self.hypercolumn(y)
        return self.head(t)

    @torch.no_grad()
    def predict_uv(self, y: torch.Tensor) -> torch.Tensor:
        """UV ``(B, 2, H, W)`` on the 0-255 scale."""
        return torch.sigmoid(self(y).float()) * 255.0

    def describe(self) -> dict:
        return {"head": asdict(self.head_config), "backbone_weights": self.backbone_desc}


def build_model(
    head: HeadConfig, weights: str, *, download: bool = True, allow_random_fallback: bool = False
) -> ColorizationNet:
    """Build the network; with ``allow_random_fallback``, unavailable ImageNet weights turn
    into a random backbone with a loud warning (the demo), otherwise they raise."""
    try:
        features, desc = load_vgg16_features(weights, download=download)
    except BackboneUnavailable as e:
        if not allow_random_fallback:
            raise
        log.warning("!" * 78)
        log.warning("RANDOM BACKBONE: %s", e)
        log.warning("Falling back to a randomly initialised VGG-16 (demo only). Results are NOT")
        log.warning("comparable to the paper's, which uses ImageNet weights.")
        log.warning("!" * 78)
        features, desc = load_vgg16_features("random")
        desc = "random (fallback: ImageNet weights unavailable)"
    return ColorizationNet(features, head, desc)
