"""Benchmark: our colorization against ECCV16's published pipeline, side by side.

    python bench/colorize_bench.py [--images 6] [--repeats 5] [--device cpu]
    python bench/colorize_bench.py --whole-process [--images 8] [--repeats 3]

Both sides take the same gray 1024x768 JPEGs and write RGB PNGs at the original resolution
with the same zlib level (ours: decode, Y, resize to 224, InferenceNet, UV upsampling, YUV to
RGB; ECCV16: decode, Lab at both sizes, its network at 256, ab upsampling, Lab to RGB). The
networks have random weights: only time is compared. Also the network alone (one image, each
at its own input size), and our network as trained (ColorizationNet) against its
InferenceNet, which must agree to float32 rounding.

``--whole-process`` times what a user pays instead: ``colorcnn colorize`` on a folder (start,
imports, checkpoint, decode, network, recombination, PNG) against ECCV16's demo as its own
process (``bench/eccv16_demo.py``: imports, its network's weights from a file, the same
work), interleaved; and the start-up: ``colorcnn --help`` against ``python -c "import
argparse"``, and colorize of one image. Bytecode caching is on for these processes (as for an
installed package), whatever ``PYTHONDONTWRITEBYTECODE`` says here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from _common import compare, header, report
from PIL import Image

from colorcnn.colorize import Colorizer, collect_inputs, colorize_files, save_png
from colorcnn.config import HeadConfig
from colorcnn.model import ColorizationNet, InferenceNet
from colorcnn.peers import ECCV16, colorize_file
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
    ap.add_argument("--whole-process", action="store_true", help="time whole processes")
    ap.add_argument("--startup-repeats", type=int, default=10, help="with --whole-process")
    ap.add_argument("--phases-child", nargs=2, help=argparse.SUPPRESS)  # FOLDER CHECKPOINT
    a = ap.parse_args(argv)
    if a.phases_child:
        return phases_child(*a.phases_child, compression=a.compression)
    if a.whole_process:
        return whole_process(a)
    header("colorize: ours vs ECCV16 (Zhang et al. 2016)")
    dev = torch.device(a.device)
    ours = random_ours()
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
        write_gray_jpegs(d, a.images, a.height, a.width)
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
        mp = report_pipeline(pipe, "ECCV16 pipeline", "ours", "full pipeline", a)
        print(f"ours: {mp / pipe['ours'].median:.2f} MP/s")
        out = np.asarray(Image.open(d / "ours" / "in_0.jpg.png"))
        assert out.shape == (a.height, a.width, 3)


def report_pipeline(pipe, base: str, ours: str, what: str, a) -> float:
    """Print a pipeline comparison and the images/s ratio; the megapixels of the work."""
    mp = a.images * a.height * a.width / 1e6
    title = f"{what}: {a.images} gray {a.width}x{a.height} JPEGs -> RGB PNGs "
    report(pipe, base, unit="image", title=title + f"(zlib level {a.compression}), {mp:.1f} MP")
    speed = pipe[base].median / pipe[ours].median
    print(f"{ours}: {speed:.2f}x the images/s of the {base}, {what}")
    return mp


def random_ours() -> ColorizationNet:
    from torchvision.models import vgg16

    torch.manual_seed(0)
    return ColorizationNet(vgg16(weights=None).features, HeadConfig(), "random").eval()


def write_gray_jpegs(folder: Path, n: int, height: int, width: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        gray = Image.fromarray(natural_rgb(height, width, k)).convert("L")
        gray.save(folder / f"in_{k}.jpg", quality=90)


def whole_process(a) -> dict:
    """Whole processes, as a user runs them: ours against ECCV16's demo, and start-up."""
    header("colorize, whole process: `colorcnn colorize` vs ECCV16's demo (Zhang et al. 2016)")
    from colorcnn.checkpoint import save_checkpoint

    here = Path(__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(here.parent / "src"), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        save_checkpoint(d / "model.pt", random_ours(), step=0, config={"image_size": a.size})
        torch.manual_seed(0)
        torch.save(ECCV16().state_dict(), d / "eccv16.pth")
        write_gray_jpegs(d / "in", a.images, a.height, a.width)
        write_gray_jpegs(d / "one", 1, a.height, a.width)
        py = [sys.executable]
        level = ["--compression", str(a.compression)]
        ours = [*py, "-m", "colorcnn", "colorize", "--checkpoint", str(d / "model.pt"), "--quiet"]
        eccv = [*py, str(here / "eccv16_demo.py"), str(d / "eccv16.pth")]

        def run(cmd):
            return lambda: subprocess.run(cmd, env=env, check=True, capture_output=True)

        pipe = compare(
            {
                "ECCV16 demo": run([*eccv, str(d / "in"), str(d / "e"), *level]),
                "colorcnn colorize": run([*ours, str(d / "in"), "-o", str(d / "o"), *level]),
            },
            repeats=a.repeats,
            work=a.images,
        )
        report_pipeline(pipe, "ECCV16 demo", "colorcnn colorize", "whole process", a)
        start = compare(
            {
                'python -c "import argparse"': run([*py, "-c", "import argparse"]),
                "colorcnn --help": run([*py, "-m", "colorcnn", "--help"]),
                "colorcnn colorize, 1 image": run([*ours, str(d / "one"), "-o", str(d / "o1")]),
            },
            repeats=a.startup_repeats,
        )
        report(start, 'python -c "import argparse"', unit="run", title="start-up")
        out = np.asarray(Image.open(d / "o" / "in_0.jpg.png"))
        assert out.shape == (a.height, a.width, 3)
        child = [*py, __file__, "--phases-child", str(d / "in"), str(d / "model.pt")]
        r = subprocess.run([*child, *level], env=env, check=True, capture_output=True, text=True)
        print(r.stdout, end="")
    return {"whole": pipe, "start": start}


def phases_child(folder, checkpoint, compression: int) -> None:
    """In a fresh process: where a colorize run's time goes, each phase run alone, in order
    (the CLI overlaps decoding, recombination and PNG with the network)."""
    import time

    from colorcnn.colorize import Colorizer, decode_for_colorize, recombine
    from colorcnn.config import ColorizeOptions

    code = "import time; t = time.perf_counter(); import colorcnn.colorize; "
    code += "print(time.perf_counter() - t)"
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ]
    runs += [subprocess.run(r.args, capture_output=True, text=True, check=True) for r in runs * 2]
    took = {"imports (torch, the library; fresh process)": sorted(float(r.stdout) for r in runs)[1]}
    t = time.perf_counter()
    col = Colorizer.from_checkpoint(checkpoint, device="cpu")
    took["checkpoint: load, rebuild, fold"] = time.perf_counter() - t
    paths = sorted(Path(folder).iterdir())
    t = time.perf_counter()
    decoded = [decode_for_colorize(p) for p in paths]
    inputs = [col.model_input(d.y) for d in decoded]
    took["decode, Y, resize to the model size"] = time.perf_counter() - t
    t = time.perf_counter()
    size = ColorizeOptions.batch_size
    uvs = [uv for i in range(0, len(inputs), size) for uv in col.predict(inputs[i : i + size])]
    took[f"network (batches of {size})"] = time.perf_counter() - t
    t = time.perf_counter()
    rgbs = [recombine(d.y, uv) for d, uv in zip(decoded, uvs, strict=True)]
    took["recombination at full resolution"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        for k, rgb in enumerate(rgbs):
            save_png(Path(out) / f"{k}.png", rgb, None, compression)
        took[f"PNG (zlib level {compression}), written and synced"] = time.perf_counter() - t
    total = sum(took.values())
    print(f"phases of one run, in a fresh process, each alone ({len(paths)} images):")
    for name, sec in took.items():
        print(f"  {name:42} {sec * 1e3:9.1f} ms {100 * sec / total:5.1f}%")


def sync(x, dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return x


if __name__ == "__main__":
    main()
