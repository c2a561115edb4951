"""Command-line entry point: ``colorcnn <command> ...`` (also ``python -m colorcnn``).

The rule scripts call the same functions; this is for using the library outside Snakemake.
Defaults come from the library's dataclasses (the paper's settings), not from literals here.
Exit status: 0 success, 1 some inputs failed (the rest was done), 2 nothing could be done.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from .config import ColorizeOptions, DemoOptions, PrepareOptions

#: Every command imports what it needs when it runs: ``--help``, ``demo``, ``sample``,
#: ``prepare`` and ``score`` never import torch (tested), and ``colorize`` imports it once.


def _demo(a):
    from .demo import build_demo

    kw = {k: getattr(a, k) for k in ("dataset", "train_per_source", "test_per_source", "seed")}
    print(build_demo(a.out, **kw))


def _sample(a):
    from .sampling import sample_training_set, write_manifest

    root, entries = sample_training_set(a.source, a.root, a.n, a.seed, allow_fewer=a.allow_fewer)
    write_manifest(a.output, entries, root)


def _prepare(a):
    from .shards import ShardFiles, prepare_shard

    opts = PrepareOptions(**{f.name: getattr(a, f.name) for f in fields(PrepareOptions)})
    files = ShardFiles.of(a.out, a.shard)
    print(prepare_shard(a.manifest, a.shard, a.shard_size, files, opts, a.threads))


def _colorize(a):
    from .checkpoint import CheckpointError
    from .colorize import Colorizer, check_output_dir, collect_inputs, colorize_files

    try:  # everything that can be checked before the model is loaded
        pairs = collect_inputs(a.inputs, exclude=a.output)  # not our own earlier outputs
        if not pairs:
            raise ValueError("no input images found")
        out = check_output_dir(a.output)
        colorizer = Colorizer.from_checkpoint(a.checkpoint, device=a.device, size=a.size)
    except (ValueError, OSError, CheckpointError) as e:
        print(f"colorcnn colorize: {e}", file=sys.stderr)
        return 2
    kw = {k: getattr(a, k) for k in ("batch_size", "alpha", "compression")}
    res = colorize_files(colorizer, pairs, out, progress=not a.quiet, **kw)
    for path, why in res["failed"]:
        print(f"failed {path}: {why}", file=sys.stderr)
    print(f"wrote {len(res['written'])} images to {out}, {len(res['failed'])} failed")
    if not res["written"]:
        print("colorcnn colorize: nothing could be colorized (see above)", file=sys.stderr)
        return 2
    return 1 if res["failed"] else 0


def _score(a):
    import numpy as np

    from .images import ImageRejected, drop_alpha, open_image
    from .metrics import colourfulness, psnr, qssim, ssim

    try:  # decoded as every stage decodes: EXIF orientation applied, gray as RGB
        x, y = (np.asarray(drop_alpha(open_image(p)).convert("RGB")) for p in (a.reference, a.test))
    except ImageRejected as e:
        print(f"colorcnn score: {e}", file=sys.stderr)
        return 2
    if x.shape != y.shape:
        print(
            f"colorcnn score: the images have different sizes ({x.shape[1]}x{x.shape[0]} and "
            f"{y.shape[1]}x{y.shape[0]}): score a colorization against its own original",
            file=sys.stderr,
        )
        return 2
    print(f"qssim\t{qssim(x, y):.6f}\nssim\t{ssim(x, y):.6f}\npsnr\t{psnr(x, y):.4f}")
    print(f"colourfulness\t{colourfulness(y):.4f}\ncolourfulness_gt\t{colourfulness(x):.4f}")


def _evaluate(a):
    import tempfile

    from .images import ImageRejected
    from .testset import imagenet_val_test_set

    if a.protocol == "original":
        return _evaluate_against(a, a.truth)
    with tempfile.TemporaryDirectory(prefix="colorcnn-truth-") as truth:
        try:  # the protocol's ground truth, prepared from the val folder as the workflow does
            _, rejected = imagenet_val_test_set(a.truth, a.protocol, truth, threads=a.threads)
        except (FileNotFoundError, ValueError, ImageRejected) as e:
            print(f"colorcnn evaluate: {e}", file=sys.stderr)
            return 2
        for path, reason, detail in rejected:
            print(
                f"colorcnn evaluate: not in the truth: {path}: {reason} ({detail})", file=sys.stderr
            )
        return _evaluate_against(a, truth)


def _evaluate_against(a, truth: str):
    from .external import evaluate_folder
    from .images import ImageRejected
    from .results import METRIC_NAMES
    from .scoring import METRICS, read_stats
    from .tables import SCORE_COLUMNS, write_frame

    stats = read_stats(a.stats) if a.stats else None
    try:
        scores, summary, vs_gray, m = evaluate_folder(
            a.outputs,
            truth,
            name=a.name,
            resize=not a.refuse_resized,
            stats=stats,
            processes=a.threads,
        )
    except (FileNotFoundError, ValueError, ImageRejected) as e:
        print(f"colorcnn evaluate: {e}", file=sys.stderr)
        return 2
    if not m.complete:
        print(f"colorcnn evaluate: {a.outputs} against {a.truth}:\n{m.problems()}", file=sys.stderr)
    if not len(summary):
        print("colorcnn evaluate: no output matches an image of the truth folder", file=sys.stderr)
        return 2
    if a.output:
        write_frame(scores, a.output, SCORE_COLUMNS)
    print(f"{len(m.pairs)} images; means with 95% bootstrap intervals")
    for _, r in summary.iterrows():
        print(f"{r['system']}")
        for metric in METRICS:
            lo, hi = r[f"{metric}_lo"], r[f"{metric}_hi"]
            print(f"  {METRIC_NAMES[metric]:28} {r[metric]:9.4f} [{lo:.4f}, {hi:.4f}]")
    print(f"paired, {a.name} − gray, image by image (delta [95%], win rate)")
    for _, r in vs_gray.iterrows():
        print(
            f"  {METRIC_NAMES[r['metric']]:28} {r['delta']:+9.4f} [{r['lo']:+.4f}, {r['hi']:+.4f}]"
            f"  {r['win']:.2f}"
        )
    return 0 if m.complete else 1


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_prepare_options(p: argparse.ArgumentParser) -> None:
    """One option per field of :class:`~colorcnn.config.PrepareOptions`, its default included."""
    for f in fields(PrepareOptions):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            p.add_argument(flag, type=kind, default=f.default, help=f"default {f.default}")


def build_parser() -> argparse.ArgumentParser:
    demo, col = DemoOptions(), ColorizeOptions()
    ap = argparse.ArgumentParser(prog="colorcnn", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="build the embedded demo datasets")
    p.add_argument("out")
    p.add_argument("--dataset", choices=["photos", "learnable"], default=demo.dataset)
    for name in ("train_per_source", "test_per_source", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(demo, name))
    p.set_defaults(func=_demo)

    p = sub.add_parser("sample", help="choose training images, write a manifest TSV")
    p.add_argument("root")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--source", choices=["ilsvrc", "folder"], default="ilsvrc")
    p.add_argument("--seed", type=int, required=True, help="seed of the sampling hash")
    p.add_argument("--allow-fewer", action="store_true")
    p.set_defaults(func=_sample)

    p = sub.add_parser("prepare", help="convert one shard of a manifest to Y/UV arrays")
    p.add_argument("manifest")
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--shard-size", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1)
    _add_prepare_options(p)
    p.set_defaults(func=_prepare)

    p = sub.add_parser("colorize", help="colorize images (files or folders) with a checkpoint")
    p.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="output folder for the PNGs")
    p.add_argument("--checkpoint", required=True, help="a model.pt / last.pt from training")
    p.add_argument("--batch-size", type=_at_least_one, default=col.batch_size)
    p.add_argument("--size", type=int, default=None, help="model input size (default: trained)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--alpha", default=col.alpha, choices=["drop", "keep"])
    p.add_argument(
        "--compression",
        type=int,
        default=col.compression,
        choices=range(10),
        help="PNG zlib level",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_colorize)

    p = sub.add_parser(
        "evaluate",
        help="score a folder of another method's colorizations against the originals",
        description="Match OUTPUTS to the images under --truth by path without extension "
        "(x.jpg may be x.png), score each with every metric of the study, the gray baseline "
        "beside it. Exit 0: all matched; 1: some missing/unmatched (listed, the rest scored); "
        "2: nothing to score.",
    )
    p.add_argument("outputs", help="a folder of colorized images (any layout, any extension)")
    p.add_argument("--truth", required=True, help="the folder of the originals")
    p.add_argument(
        "--protocol",
        choices=["original", "val5k", "val50k"],
        default="original",
        help="original: score against --truth as it is; val5k / val50k: --truth is ImageNet "
        "val (ILSVRC2012_val_*.JPEG), prepared as the workflow's test.protocol does (val5k: "
        "the first 5,000 by name, centre crop, 256x256; val50k: all, 256x256 without crop)",
    )
    p.add_argument("-o", "--output", help="per-image scores (TSV)")
    p.add_argument("--name", default="outputs", help="the system's name in the tables")
    p.add_argument("--stats", help="the training set's chroma.json: adds mean chroma")
    p.add_argument("--refuse-resized", action="store_true", help="outputs must be full size")
    p.add_argument("--threads", type=_at_least_one, default=1)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("score", help="QSSIM, SSIM, PSNR, colourfulness of one image pair")
    p.add_argument("reference")
    p.add_argument("test")
    p.set_defaults(func=_score)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .logs import setup_logging

    setup_logging()
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
