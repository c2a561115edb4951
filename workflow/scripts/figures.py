"""Rules `figure_*` and `results_table`: figures and tables from the results tables."""

import _bootstrap

_bootstrap.start(snakemake)

import json

import pandas as pd

from colorcnn import figures, report
from colorcnn.evaluate import METRICS
from colorcnn.tables import COLORIZED_COLUMNS, TEST_COLUMNS, read_frame, read_rooted, read_tsv

sm = snakemake
p, inp, out = sm.params, sm.input, sm.output
if p.kind == "training":
    runs = [read_frame(f).assign(**run) for f, run in zip(inp.metrics, p.runs, strict=True)]
    figures.training_curves(pd.concat(runs, ignore_index=True), out[0])
elif p.kind == "scores":
    scores = read_frame(inp.scores)
    figures.qssim_distribution(scores, out.qssim)
    figures.seed_spread(scores, out.seeds)
    figures.model_vs_gray(scores, p.reference, out.vs_gray)
    figures.qssim_vs_colourfulness(scores, out.colourfulness)
elif p.kind == "claims":
    figures.paired_deltas(read_frame(inp.claims), out[0])
elif p.kind == "categories":
    figures.category_qssim(read_frame(inp.by_category), p.reference, "gray", out[0])
elif p.kind == "examples":
    root, rows = read_rooted(inp.table, TEST_COLUMNS)
    pngs = {r["image"]: r["png"] for r in read_tsv(inp.colorized, COLORIZED_COLUMNS)[1]}
    scores = pd.concat([read_frame(inp.scores), read_frame(inp.baselines)], ignore_index=True)
    figures.example_grid(scores, {r["path"]: root / r["path"] for r in rows}, pngs, out[0])
elif p.kind == "table":
    summaries = [json.loads(open(f).read()) for f in inp.runs]
    frames = [read_frame(f) for f in (inp.claims, inp.summary, inp.seeds)]
    settings = report.settings(summaries, dict(p.settings))
    report.write_results(*frames, METRICS, settings, out.md, out.tsv, out.html)
else:
    raise ValueError(f"unknown figure kind {p.kind!r}")
