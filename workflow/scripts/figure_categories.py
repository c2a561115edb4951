"""Rule `figure_categories`: the reference model against gray within each test category."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.figures import category_qssim
from colorcnn.systems import GRAY
from colorcnn.tables import read_frame

sm = snakemake
category_qssim(read_frame(sm.input.by_category), sm.params.reference, GRAY, sm.output[0])
