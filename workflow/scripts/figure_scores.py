"""Rule `figure_scores`: per-image QSSIM of every system, the seeds' spread, the reference
model against gray, and QSSIM against colourfulness."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn import figures
from colorcnn.tables import read_frame

sm = snakemake
out = sm.output
scores = read_frame(sm.input.scores)
figures.qssim_distribution(scores, out.qssim)
figures.seed_spread(scores, out.seeds)
figures.model_vs_gray(scores, sm.params.reference, out.vs_gray)
figures.qssim_vs_colourfulness(scores, out.colourfulness)
