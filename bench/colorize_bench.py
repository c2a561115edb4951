"""Benchmark: our colorization against ECCV16's published pipeline, side by side.

    python bench/colorize_bench.py [--images 6] [--repeats 5] [--device cpu]

Both sides take the same gray 1024x768 JPEGs and write RGB PNGs at the original resolution
with the same zlib level (ours: decode, Y, resize to 224, InferenceNet, UV upsampling, YUV to
RGB; ECCV16: decode, Lab at both sizes, its network at 256, ab upsampling, Lab to RGB). The
networks have random weights: only time is compared. Also the network alone (one image, each
at its own input size), and our network as trained (ColorizationNet) against its
InferenceNet, which must agree to float32 rounding.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from _common import compare, header, report
from eccv16_reference import ECCV16, colorize_file
from PIL import Image

from colorcnn.colorize import Colorizer, collect_inputs, colorize_files, save_png
from colorcnn.config import HeadConfig
from colorcnn.model import ColorizationNet, InferenceNet
from colorcnn.testimages import natural_rgb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--size", type=int, default=224, help="our model size (ECCV16: 256)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--compression", type=int, default=1)
    a = ap.parse_args(argv)
    header("colorize: ours vs ECCV16 (Zhang et al. 2016)")
    dev = torch.device(a.device)
    from torchvision.models import vgg16

    torch.manual_seed(0)
    ours = ColorizationNet(vgg16(weights=None).features, HeadConfig()).eval()
    eccv = ECCV16().eval().to(dev)
    fast = InferenceNet(ours).to(dev)
    ours = ours.to(dev)

    y = torch.rand(1, 1, a.size, a.size, device=dev) * 255
    lum = torch.rand(1, 1, 256 * a.size // 224, 256 * a.size // 224, device=dev) * 100
    with torch.no_grad():
        err = (ours(y) - fast(y)).abs().max().item()
        print(f"InferenceNet vs ColorizationNet: max |difference| of the logits {err:.2e}")
        net = compare(
            {
                "ECCV16 network (256 px)": lambda: sync(eccv(lum), dev),
                "ours, as trained (224 px)": lambda: sync(ours(y), dev),
                "ours, InferenceNet (224 px)": lambda: sync(fast(y), dev),
            },
            repeats=a.repeats,
        )
    report(net, "ECCV16 network (256 px)", unit="image", title="network alone, batch 1")

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for k in range(a.images):
            gray = Image.fromarray(natural_rgb(a.height, a.width, k)).convert("L")
            gray.save(d / f"in_{k}.jpg", quality=90)
        pairs = collect_inputs([d])
        col = Colorizer(ours.cpu(), a.size, dev, bf16=dev.type == "cuda")

        def run_ours():
            colorize_files(col, pairs, d / "ours", compression=a.compression, progress=False)

        def run_eccv():
            for path, rel in pairs:
                save_png(
                    d / "eccv" / rel,
                    colorize_file(eccv.cpu() if dev.type == "cpu" else eccv, path),
                    None,
                    a.compression,
                )

        pipe = compare(
            {"ECCV16 pipeline": run_eccv, "ours": run_ours}, repeats=a.repeats, work=a.images
        )
        mp = a.images * a.height * a.width / 1e6
        report(
            pipe,
            "ECCV16 pipeline",
            unit="image",
            title=f"full pipeline: {a.images} gray {a.width}x{a.height} JPEGs -> RGB PNGs "
            f"(zlib level {a.compression}), {mp:.1f} MP",
        )
        speed = pipe["ECCV16 pipeline"].median / pipe["ours"].median
        print(f"ours: {speed:.2f}x the images/s of ECCV16; {mp / pipe['ours'].median:.2f} MP/s")
        out = np.asarray(Image.open(d / "ours" / "in_0.jpg.png"))
        assert out.shape == (a.height, a.width, 3)


def sync(x, dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return x


if __name__ == "__main__":
    main()
