"""Command-line entry point: ``colorcnn <command> ...`` (also ``python -m colorcnn``).

The rule scripts call the same functions; this is for using the library outside Snakemake.
"""

from __future__ import annotations

import argparse
import sys

from .io import setup_logging


def _demo(a):
    from .demo import build_demo

    print(build_demo(a.out, train_per_source=a.train_per_source, test_per_source=a.test_per_source))


def _sample(a):
    from .sampling import sample_training_set, write_manifest

    root, entries = sample_training_set(a.source, a.root, a.n, a.seed, allow_fewer=a.allow_fewer)
    write_manifest(a.output, entries, root)


def _prepare(a):
    from .images import DecodeLimits
    from .shards import PrepareOptions, prepare_shard, shard_paths

    opts = PrepareOptions(
        image_size=a.size,
        resize=a.resize,
        resample=a.resample,
        limits=DecodeLimits(min_side=a.min_side),
        min_chroma=a.min_chroma,
    )
    print(
        prepare_shard(
            a.manifest, a.shard, a.shard_size, shard_paths(a.out, a.shard), opts, a.threads
        )
    )


def _colorize(a):
    from .colorize import Colorizer, collect_inputs, colorize_files

    pairs = collect_inputs(a.inputs)
    if not pairs:
        raise SystemExit("colorize: no input images found")
    colorizer = Colorizer.from_checkpoint(a.checkpoint, device=a.device, size=a.size)
    res = colorize_files(
        colorizer, pairs, a.output, batch_size=a.batch, alpha=a.alpha, progress=not a.quiet
    )
    for path, why in res["failed"]:
        print(f"skipped {path}: {why}", file=sys.stderr)
    print(f"wrote {len(res['written'])} images to {a.output}, skipped {len(res['failed'])}")
    return 1 if res["failed"] and not res["written"] else 0


def _score(a):
    import numpy as np
    from PIL import Image

    from .metrics import colourfulness, psnr, qssim, ssim

    x = np.asarray(Image.open(a.reference).convert("RGB"))
    y = np.asarray(Image.open(a.test).convert("RGB"))
    print(f"qssim\t{qssim(x, y):.6f}\nssim\t{ssim(x, y):.6f}\npsnr\t{psnr(x, y):.4f}")
    print(f"colourfulness\t{colourfulness(y):.4f}\ncolourfulness_gt\t{colourfulness(x):.4f}")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="colorcnn", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="build the embedded demo datasets")
    p.add_argument("out")
    p.add_argument("--train-per-source", type=int, default=40)
    p.add_argument("--test-per-source", type=int, default=4)
    p.set_defaults(func=_demo)

    p = sub.add_parser("sample", help="choose training images, write a manifest TSV")
    p.add_argument("root")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--source", choices=["ilsvrc", "folder"], default="ilsvrc")
    p.add_argument("--seed", type=int, default=2016)
    p.add_argument("--allow-fewer", action="store_true")
    p.set_defaults(func=_sample)

    p = sub.add_parser("prepare", help="convert one shard of a manifest to Y/UV arrays")
    p.add_argument("manifest")
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=4096)
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--resize", choices=["crop", "stretch"], default="crop")
    p.add_argument("--resample", choices=["bilinear", "bicubic", "lanczos"], default="bilinear")
    p.add_argument("--min-side", type=int, default=32)
    p.add_argument("--min-chroma", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_prepare)

    p = sub.add_parser("colorize", help="colorize images (files or folders) with a checkpoint")
    p.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="output folder for the PNGs")
    p.add_argument("--checkpoint", required=True, help="a model.pt / last.pt from training")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=None, help="model input size (default: trained)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--alpha", default="drop", choices=["drop", "keep"])
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_colorize)

    p = sub.add_parser("score", help="QSSIM, SSIM, PSNR, colourfulness of one image pair")
    p.add_argument("reference")
    p.add_argument("test")
    p.set_defaults(func=_score)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
