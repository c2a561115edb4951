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
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
