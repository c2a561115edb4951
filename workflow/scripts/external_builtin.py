"""Rule `external_builtin`: a folder of outputs the workflow writes itself for an external
system (study.external.<name>.builtin; the demo's stand-in for another method)."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.external import category_mean
from colorcnn.tables import TEST_COLUMNS, read_rooted

sm = snakemake
METHODS = {"category_mean": category_mean}
root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
METHODS[sm.params.method](root, rows, sm.output.images)
