"""Rule `results_table`: results.md, results.html and results.tsv from the study's tables,
with the settings the runs recorded."""

import _bootstrap

_bootstrap.start(snakemake)

import json
from pathlib import Path

from colorcnn import results
from colorcnn.scoring import metrics_in
from colorcnn.tables import read_frame

sm = snakemake
inp, out = sm.input, sm.output
summaries = [json.loads(Path(f).read_text()) for f in inp.runs]
frames = [read_frame(f) for f in (inp.claims, inp.summary, inp.seeds)]
peers = {Path(f).parent.name: json.loads(Path(f).read_text()) for f in inp.peers}
settings = results.settings(summaries, dict(sm.params.settings), peers)
metrics = metrics_in(frames[1].columns)  # LPIPS and FID where they were on
results.write_results(*frames, metrics, settings, out.md, out.tsv, out.html)
