"""Rule `figure_training`: loss, learning rate and throughput of every run of the study."""

import _bootstrap

_bootstrap.start(snakemake)

import pandas as pd

from colorcnn.figures import training_curves
from colorcnn.tables import read_frame

sm = snakemake
runs = [
    read_frame(f).assign(**run) for f, run in zip(sm.input.metrics, sm.params.runs, strict=True)
]
training_curves(pd.concat(runs, ignore_index=True), sm.output[0])
