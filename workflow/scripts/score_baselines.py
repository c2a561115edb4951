"""Rule `score_baselines`: the baselines (gray, mean chroma) scored like the model, once per
study."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.scoring import score_baselines
from colorcnn.tables import SCORE_COLUMNS, write_frame

sm = snakemake
p = sm.params
scores = score_baselines(
    sm.input.table,
    sm.input.stats,
    p.baselines,
    resolution=p.resolution,
    model_size=p.model_size,
    processes=sm.threads,
)
write_frame(scores, sm.output.scores, SCORE_COLUMNS)
