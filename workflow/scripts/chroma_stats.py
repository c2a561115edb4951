"""Rule `chroma_stats`: the training set's mean U and V (for the mean-chroma baseline)."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

import json  # noqa: E402
import logging  # noqa: E402

from colorcnn.evaluate import chroma_stats  # noqa: E402
from colorcnn.io import atomic_path  # noqa: E402

stats = chroma_stats(snakemake.input.UV)  # noqa: F821
with atomic_path(snakemake.output[0]) as tmp:  # noqa: F821
    tmp.write_text(json.dumps(stats, indent=1))
logging.getLogger("chroma_stats").info("%s", stats)
