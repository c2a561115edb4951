"""Rule `score_external`: another method's outputs (study.external), matched to the test
images and scored like the model; a test image without an output stops it, listing them."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.external import score_external
from colorcnn.tables import SCORE_COLUMNS, TEST_COLUMNS, read_rooted, write_frame

sm = snakemake
p = sm.params
root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
scores, matching = score_external(
    sm.wildcards.system,
    sm.input.outputs,
    root,
    rows,
    resize=p.resize,
    resolution=p.resolution,
    model_size=p.model_size,
    processes=sm.threads,
)
write_frame(scores, sm.output.scores, SCORE_COLUMNS)
