"""Rule `gray_inputs`: write every test image's gray version (its quantized Y, the input
every system of the study colorizes) as a PNG, for running another method on exactly them."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.tables import TEST_COLUMNS, read_rooted
from colorcnn.testset import write_gray_inputs

sm = snakemake
root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
write_gray_inputs(root, rows, sm.output.images, threads=sm.threads)
