"""Rule `data_summary`: every rejected training file, kept images per class, mean chroma."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.datasummary import summarize_shards

sm = snakemake
out = sm.output
summarize_shards(
    sm.input.manifest,
    sm.input.index,
    sm.input.rejected,
    rejected=out.rejected,
    classes=out.classes,
    chroma=out.chroma,
)
