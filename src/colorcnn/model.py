"""The paper's network: frozen VGG-16 hypercolumn **T** → two conv branches **Q** → UV.

Varga & Szirányi (ICPR 2016), section 3:

- input: the grayscale image Y, repeated into 3 channels (224×224 in the paper; any size
  divisible by 4 here, the network is fully convolutional), normalised as VGG-16 expects;
- stage 1, frozen: VGG-16 up to (not including) the third max pooling. The hypercolumn **T**
  stacks the input (3 channels) and the feature maps just before pool1, pool2 and pool3
  (conv1_2: 64, conv2_2: 128, conv3_3: 256 channels, after ReLU), upsampled bilinearly to the
  input size: 3 + 64 + 128 + 256 = 451 channels (``model.taps`` selects a subset, for the
  ablation of the hypercolumn);
- stage 2, trained: two convolutional layers computed from T, concatenated into **Q** with 144
  channels, then an output convolution to 2 channels (U, V) with a sigmoid (targets are UV/255).

The paper does not give the split of Q's 144 channels, the kernel sizes or any normalisation;
:class:`~colorcnn.config.HeadConfig` makes them explicit (defaults: a 3×3 branch of 128 and a
1×1 branch of 16, batch norm, ReLU, 1×1 output), and the README says this is our reading.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import HeadConfig

#: ``vgg16().features`` index of the ReLU whose output each tap takes (``input``: none).
TAP_LAYERS = {"input": -1, "conv1_2": 3, "conv2_2": 8, "conv3_3": 15}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Hypercolumn(nn.Module):
    """Frozen stage 1: Y ``(B, 1, H, W)`` in 0-255 → T ``(B, C_T, H, W)`` (451 channels with
    every tap). Only the VGG layers up to the deepest tap are run."""

    def __init__(self, features: nn.Sequential, taps=tuple(TAP_LAYERS)):
        super().__init__()
        self.taps = tuple(taps)
        self.layers = {TAP_LAYERS[t] for t in self.taps}
        self.features = features[: max(self.layers) + 1]
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
        maps = [x] if -1 in self.layers else []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.layers:  # (B, 64, H, W), (B, 128, H/2, W/2), (B, 256, H/4, W/4)
                maps.append(x)
        up = [
            m if m.shape[-2:] == (h, w) else F.interpolate(m, (h, w), mode="bilinear") for m in maps
        ]
        return torch.cat(up, dim=1)  # T


def _branch(cin: int, cout: int, k: int, norm: str) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=norm == "none")]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ColorizationHead(nn.Module):
    """Trained stage 2: T → UV logits ``(B, 2, H, W)``."""

    def __init__(self, cfg: HeadConfig):
        super().__init__()
        self.a = _branch(cfg.t_channels, cfg.a_channels, cfg.a_kernel, cfg.norm)
        self.b = _branch(cfg.t_channels, cfg.b_channels, cfg.b_kernel, cfg.norm)
        self.out = nn.Conv2d(cfg.q_channels, 2, cfg.out_kernel, padding=cfg.out_kernel // 2)

    def forward(self, t: torch.Tensor, *, return_q: bool = False):
        q = torch.cat([self.a(t), self.b(t)], dim=1)  # Q: (B, 144, H, W)
        logits = self.out(q)  # (B, 2, H, W); sigmoid(logits) = UV / 255
        return (logits, q) if return_q else logits


class ColorizationNet(nn.Module):
    """Y ``(B, 1, H, W)`` in 0-255 → UV logits; :meth:`predict_uv` gives UV in 0-255."""

    def __init__(self, features: nn.Sequential, head: HeadConfig, backbone_desc: str = "?"):
        super().__init__()
        self.hypercolumn = Hypercolumn(features, head.taps)
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
