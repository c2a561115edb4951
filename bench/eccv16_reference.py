"""Zhang, Isola & Efros (ECCV 2016), "Colorful Image Colorization": the network and the
pre/post-processing of their released demo, restated here for timing only (random weights).

Written from the architecture their paper and released model describe: eight blocks of 3x3
convolutions (64, 128, 256, 512, 512 dilated, 512 dilated, 512, then a 4x4 transposed
convolution to 256 and 313 bins), batch norm after blocks 1-7, a softmax over the bins and a
1x1 projection to ab, upsampled 4x; L normalised as (L - 50) / 100 and ab scaled by 110. The
demo resizes the RGB input to 256x256 (bicubic), converts both sizes to CIE Lab, runs the
network on the small L, upsamples ab bilinearly to the original size, joins the original L
and converts back to RGB.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

#: (input channels, output channels, number of convolutions, stride of the last, dilation)
BLOCKS = [
    (1, 64, 2, 2, 1),
    (64, 128, 2, 2, 1),
    (128, 256, 3, 2, 1),
    (256, 512, 3, 1, 1),
    (512, 512, 3, 1, 2),
    (512, 512, 3, 1, 2),
    (512, 512, 3, 1, 1),
]


def _block(cin, cout, n, stride, dilation):
    layers = []
    for i in range(n):
        s = stride if i == n - 1 else 1
        layers += [
            nn.Conv2d(cin if i == 0 else cout, cout, 3, s, dilation, dilation),
            nn.ReLU(True),
        ]
    return nn.Sequential(*layers, nn.BatchNorm2d(cout))


class ECCV16(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*(_block(*b) for b in BLOCKS))
        self.block8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, 2, 1),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(256, 313, 1),
        )
        self.project = nn.Conv2d(313, 2, 1, bias=False)

    def forward(self, lum: torch.Tensor) -> torch.Tensor:
        x = self.block8(self.blocks((lum - 50.0) / 100.0))
        ab = self.project(torch.softmax(x, dim=1))
        return F.interpolate(ab, scale_factor=4, mode="bilinear") * 110.0


def colorize_file(model: ECCV16, path, size: int = 256) -> np.ndarray:
    """The demo's pipeline for one image file: uint8 RGB at the original size."""
    from skimage import color

    rgb = np.asarray(Image.open(path))
    if rgb.ndim == 2:
        rgb = np.tile(rgb[:, :, None], 3)
    small = np.asarray(Image.fromarray(rgb).resize((size, size), resample=3))
    dev = next(model.parameters()).device  # the inputs go where the model is (a GPU too)
    lum = torch.Tensor(color.rgb2lab(rgb)[:, :, 0])[None, None].to(dev)
    lum_small = torch.Tensor(color.rgb2lab(small)[:, :, 0])[None, None].to(dev)
    with torch.no_grad():
        ab = model(lum_small)
    ab = F.interpolate(ab, size=lum.shape[2:], mode="bilinear")
    lab = torch.cat([lum, ab], dim=1)[0].cpu().numpy().transpose(1, 2, 0)
    out = color.lab2rgb(lab)
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)
