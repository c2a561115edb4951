"""Rule `rejected`: one table of every training file that was not used, and why."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

from colorcnn.tables import concat_tsv  # noqa: E402

concat_tsv(snakemake.input, snakemake.output[0])  # noqa: F821
