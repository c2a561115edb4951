"""ECCV16's published demo as a whole process, for the whole-process benchmark:

    python bench/eccv16_demo.py WEIGHTS INPUT_FOLDER OUTPUT_FOLDER [--compression 1]

What a user of richzhang/colorization's ``demo_release.py`` pays for a folder: start Python,
import torch and scikit-image, build the network and load its weights from a file, then per
image the demo's pipeline (:func:`colorcnn.peers.colorize_file`) and a PNG at the original
size (the same zlib level as ours). The weights are whatever state dict ``WEIGHTS`` holds (the
benchmark writes random ones: only time is compared).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image

from colorcnn.peers import ECCV16, colorize_file


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights")
    ap.add_argument("inputs")
    ap.add_argument("output")
    ap.add_argument("--compression", type=int, default=1)
    a = ap.parse_args(argv)
    model = ECCV16()
    model.load_state_dict(torch.load(a.weights, map_location="cpu", weights_only=True))
    model.eval()
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(a.inputs).iterdir()):
        rgb = colorize_file(model, path)
        Image.fromarray(rgb).save(out / f"{path.name}.png", compress_level=a.compression)


if __name__ == "__main__":
    main()
