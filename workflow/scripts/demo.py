"""Rule `demo`: build the embedded demo datasets in ILSVRC-2012 and SUN397 layouts."""

from pathlib import Path

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

from colorcnn.demo import build_demo  # noqa: E402

p = snakemake.params  # noqa: F821
out = snakemake.output  # noqa: F821
paths = build_demo(
    Path(out.ilsvrc).parent,
    train_per_source=p.train_per_source,
    test_per_source=p.test_per_source,
    seed=p.seed,
)
assert paths["ilsvrc"] == Path(out.ilsvrc) and paths["sun"] == Path(out.sun), paths
