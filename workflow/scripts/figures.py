"""Rules `figure_*` and `results_table`: one figure or table from the results tables."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

import csv  # noqa: E402
import json  # noqa: E402

import pandas as pd  # noqa: E402

from colorcnn import figures  # noqa: E402
from colorcnn.sampling import read_table  # noqa: E402

sm = snakemake  # noqa: F821
kind = sm.params.kind
inp = sm.input
read = lambda p: pd.read_csv(p, sep="\t")  # noqa: E731
if kind == "training":
    figures.training_curves(read(inp.metrics), sm.output[0])
elif kind == "qssim":
    figures.qssim_distribution(read(inp.scores), sm.output[0])
elif kind == "categories":
    figures.category_qssim(read(inp.by_category), sm.output[0])
elif kind == "colourfulness":
    figures.qssim_vs_colourfulness(read(inp.scores), sm.output[0])
elif kind == "examples":
    root, rows = read_table(inp.table)
    with open(inp.index, newline="") as f:
        pngs = {r["image"]: r["png"] for r in csv.DictReader(f, delimiter="\t")}
    originals = {r["path"]: root / r["path"] for r in rows}
    figures.example_grid(read(inp.scores), originals, pngs, sm.output[0])
elif kind == "table":
    with open(inp.train) as f:
        run = json.load(f)
    settings = {
        "backbone weights": run["backbone_weights"],
        "training images": run["n_images"],
        "image size": run["image_size"],
        "epochs / steps": f"{run['epochs']} / {run['steps']}",
        "batch size": run["batch_size"],
        **sm.params.settings,
        "code version": run["code_version"],
    }
    figures.results_table(read(inp.summary), settings, sm.output.md, sm.output.tsv)
else:
    raise ValueError(f"unknown figure kind {kind!r}")
