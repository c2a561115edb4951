"""Rule `figure_examples`: gray input, model and ground truth where one run of the model
gains least, a median amount and most over gray."""

import _bootstrap

_bootstrap.start(snakemake)

import pandas as pd

from colorcnn.figures import example_grid
from colorcnn.tables import COLORIZED_COLUMNS, TEST_COLUMNS, read_frame, read_rooted, read_tsv

sm = snakemake
inp = sm.input
root, rows = read_rooted(inp.table, TEST_COLUMNS)
pngs = {r["image"]: r["png"] for r in read_tsv(inp.colorized, COLORIZED_COLUMNS)[1]}
scores = pd.concat([read_frame(inp.scores), read_frame(inp.baselines)], ignore_index=True)
example_grid(scores, {r["path"]: root / r["path"] for r in rows}, pngs, sm.output[0])
