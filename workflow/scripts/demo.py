"""Rule `demo`: build the embedded demo datasets in ILSVRC-2012 and SUN397 layouts."""

from pathlib import Path

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.demo import build_demo

demo = dict(snakemake.params.demo)
build_demo(Path(snakemake.output.ilsvrc).parent, **demo)
