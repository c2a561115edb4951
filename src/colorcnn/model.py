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

from .config import TAP_CHANNELS, HeadConfig

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
        # T in one dtype and memory format, built once: under autocast the convolutions'
        # bf16 (the float32 input tap cast once), upsampled in bf16, in the weights' format
        dtype, fmt = compute_dtype(y), _memory_format(self.features[0].weight)
        up = [
            (m if m.shape[-2:] == (h, w) else upsample(m.to(dtype), (h, w))).to(dtype) for m in maps
        ]
        return torch.cat([m.contiguous(memory_format=fmt) for m in up], dim=1)  # T


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype autocast computes convolutions in for ``x``'s device (``x``'s own dtype
    where autocast is off)."""
    kind = x.device.type
    if kind in ("cpu", "cuda") and torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return x.dtype


def upsample(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear upsampling in ``x``'s dtype. CUDA autocast runs it in float32 (a bf16 tap
    became a float32 tensor twice its size); in bf16 each output is within one bf16
    rounding of float32's (tested)."""
    kind = x.device.type
    if kind in ("cpu", "cuda") and torch.is_autocast_enabled(kind):
        with torch.autocast(kind, enabled=False):
            return F.interpolate(x, size, mode="bilinear")
    return F.interpolate(x, size, mode="bilinear")


def _memory_format(weight: torch.Tensor) -> torch.memory_format:
    if weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


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
        return uv_of_logits(self(y))


def uv_of_logits(logits: torch.Tensor) -> torch.Tensor:
    """The network's UV on the 0-255 scale (float32) from its logits."""
    return torch.sigmoid(logits.float()) * 255.0


def loss_fn(kind: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``bce``: two-sided cross-entropy between sigmoid(logits) and UV/255, mean over pixels
    and both channels (the paper's loss, made well-posed); ``mse``: on the same scale."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(torch.sigmoid(logits), target)


def _fold_batch_norm(branch: nn.Sequential) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of a branch's convolution with its (eval-mode) batch norm folded in."""
    conv = branch[0]
    w = conv.weight.detach()
    b = conv.bias.detach() if conv.bias is not None else torch.zeros(w.shape[0])
    if isinstance(branch[1], nn.BatchNorm2d):
        bn = branch[1]
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        w = w * scale.view(-1, 1, 1, 1)
        b = (b - bn.running_mean) * scale + bn.bias.detach()
    return w, b


class FoldedConv(nn.Module):
    """A convolution whose input channels start with the three normalised copies of Y,
    ``x_c = (Y − m_c) / s_c``, computed from Y itself: ``Σ_c W_c * x_c = (Σ_c W_c / s_c) * Y −
    Σ_c (m_c / s_c) W_c * 1``. With zero padding the last term is not a constant at the border,
    so it is the convolution of a ones image, computed once per input size."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, mean, std, n_x: int = 3):
        super().__init__()
        k = weight.shape[-1]
        self.padding = k // 2
        wx, rest = weight[:, :n_x], weight[:, n_x:]
        folded = [(wx / std.view(1, -1, 1, 1)).sum(1, keepdim=True)] if n_x else []
        self.register_buffer("weight", torch.cat([*folded, rest], dim=1))
        shift = (wx * (mean / std)[:n_x].view(1, -1, 1, 1)).sum(1, keepdim=True)  # 0 if n_x = 0
        self.register_buffer("shift", shift)
        self.register_buffer("bias", bias)
        self._border: dict = {}

    def border(self, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
        key = (h, w, like.device, like.dtype)
        if key in self._border:
            return self._border[key]
        ones = torch.ones(1, 1, h, w, device=like.device, dtype=like.dtype)
        term = self.bias.view(1, -1, 1, 1) - F.conv2d(
            ones, self.shift.to(like.dtype), padding=self.padding
        )
        if not torch.compiler.is_compiling():  # a cache in the graph would recompile it
            self._border[key] = term
        return term

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight, padding=self.padding)
        return out + self.border(*x.shape[-2:], out)


def _add_shifted(acc: torch.Tensor, x: torch.Tensor, d: int, dim: int) -> None:
    """``acc += x`` shifted by ``d`` along ``dim`` (``acc[i] += x[i + d]``; zeros beyond)."""
    n = acc.shape[dim]
    acc.narrow(dim, max(0, -d), n - abs(d)).add_(x.narrow(dim, max(0, d), n - abs(d)))


def conv_of_upsampled(f, weight, size, padding: int, acc: torch.Tensor) -> torch.Tensor:
    """``acc + conv2d(upsample(f), weight, padding)`` without convolving at the upsampled size.

    A k×k convolution is the sum, over its k² offsets, of a 1×1 convolution shifted by the
    offset, and a 1×1 convolution commutes with bilinear upsampling, which is separable. So
    each offset's 1×1 convolution runs at ``f``'s resolution; for each row of the kernel its
    k results are upsampled along x and added shifted by their column offset, and that sum is
    upsampled along y and added shifted by the row offset (zeros beyond the border, as the
    convolution's zero padding). The same function to float32 rounding; for T's conv3_3 tap
    (256 channels at a quarter of the size) about 16x fewer multiply-adds.
    """
    k = weight.shape[-1]
    (h, w), lh = size, f.shape[-2]
    order = [padding, *(i for i in range(k) if i != padding)]  # the unshifted offset first
    out = None
    for ky in order:
        row = None
        for kx in order:
            g = F.conv2d(f, weight[:, :, ky : ky + 1, kx : kx + 1])  # (B, C, lh, lw)
            g = upsample(g, (lh, w))  # along x only
            if row is None:
                row = g
            else:
                _add_shifted(row, g, kx - padding, 3)
        up = upsample(row, (h, w))  # along y
        if out is None:
            out = up.add_(acc)
        else:
            _add_shifted(out, up, ky - padding, 2)
    return out


class InferenceNet(nn.Module):
    """A trained :class:`ColorizationNet` rearranged for inference; the same function, faster:

    - the three identical normalised copies of Y (in the first VGG convolution and in T)
      folded into one channel (:class:`FoldedConv`);
    - batch norm folded into the branch convolutions;
    - T never assembled: each branch is the sum of its convolutions over T's parts (the
      concatenation of 451 full-resolution channels cost as much as a third of the network);
    - the 1×1 branch applied to the deeper taps before upsampling them (a 1×1 convolution
      commutes with bilinear interpolation), so only its 16 channels are upsampled;
    - the 3×3 branch over the upsampled taps as 1×1 convolutions at the taps' own resolution,
      upsampled and added shifted (:func:`conv_of_upsampled`);
    - channels_last memory format.
    """

    def __init__(self, net: ColorizationNet, memory_format=torch.channels_last):
        super().__init__()
        hc, head, taps = net.hypercolumn, net.head, net.hypercolumn.taps
        mean, std = hc.mean.view(-1), hc.std.view(-1)
        self.first = FoldedConv(
            hc.features[0].weight.detach(), hc.features[0].bias.detach(), mean, std
        )
        self.rest = hc.features[1:]
        self.taps = [TAP_LAYERS[t] for t in taps]  # -1 stands for the input
        widths = [1 if t == "input" else TAP_CHANNELS[t] for t in taps]
        (wa, ba), (wb, bb) = _fold_batch_norm(head.a), _fold_batch_norm(head.b)
        if "input" in taps:  # fold the input's three channels into one, with the border terms
            self.a_in = FoldedConv(wa[:, :3], ba, mean, std)
            self.b_in = FoldedConv(wb[:, :3], bb, mean, std)
            wa, wb = wa[:, 3:], wb[:, 3:]
            widths = widths[1:]
        else:
            self.a_in = self.b_in = None
            self.register_buffer("a_bias", ba.view(1, -1, 1, 1))
            self.register_buffer("b_bias", bb.view(1, -1, 1, 1))
        # each branch's weights for each deep tap (parameters, so that .to(device) moves them)
        self.a_parts = nn.ParameterList([nn.Parameter(w, False) for w in wa.split(widths, 1)])
        self.b_parts = nn.ParameterList([nn.Parameter(w, False) for w in wb.split(widths, 1)])
        self.pad = head.a[0].padding[0]  # k // 2
        self.out = head.out
        self.memory_format = memory_format
        self.to(memory_format=memory_format)

    def _features(self, y: torch.Tensor) -> list[torch.Tensor]:
        """The deep taps (not the input), at their own resolutions."""
        x = F.relu(self.first(y))
        maps = []
        for i, layer in enumerate(self.rest, start=1):
            if i > 1:  # rest[0] is the ReLU applied above
                x = layer(x)
            if i in self.taps:
                maps.append(x)
        return maps

    @torch.no_grad()
    def forward(self, y: torch.Tensor) -> torch.Tensor:
        h, w = y.shape[-2:]
        y = y.contiguous(memory_format=self.memory_format)
        maps = self._features(y)
        if self.a_in is not None:
            a, b = self.a_in(y), self.b_in(y)
        else:
            a, b = self.a_bias, self.b_bias
        for i, f in enumerate(maps):  # by index: dynamo cannot iterate a ParameterList
            wa, wb = self.a_parts[i], self.b_parts[i]
            full = f.shape[-2:] == (h, w)
            if full:
                a = a + F.conv2d(f, wa, padding=self.pad)
            else:
                a = conv_of_upsampled(f, wa, (h, w), self.pad, a)
            bf = F.conv2d(f, wb)  # 1x1 before upsampling: exact
            b = b + (bf if full else upsample(bf, (h, w)))
        # the output convolution of Q = [relu(a), relu(b)], without assembling Q
        n_a, k = a.shape[1], self.out.padding
        out = F.conv2d(F.relu_(a), self.out.weight[:, :n_a], self.out.bias, padding=k)
        return out + F.conv2d(F.relu_(b), self.out.weight[:, n_a:], padding=k)

    def predict_uv(self, y: torch.Tensor) -> torch.Tensor:
        return uv_of_logits(self(y))
