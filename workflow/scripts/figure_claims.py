"""Rule `figure_claims`: each claim's paired difference with its interval."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.figures import paired_deltas
from colorcnn.tables import read_frame

paired_deltas(read_frame(snakemake.input.claims), snakemake.output[0])
