"""Rule `score`: QSSIM, SSIM, PSNR and colourfulness of one run of the model on every test
image."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.scoring import score_run
from colorcnn.tables import SCORE_COLUMNS, write_frame

sm = snakemake
p = sm.params
scores = score_run(
    sm.input.table,
    sm.input.colorized,
    dict(p.run),
    resolution=p.resolution,
    model_size=p.model_size,
    processes=sm.threads,
)
write_frame(scores, sm.output.scores, SCORE_COLUMNS)
