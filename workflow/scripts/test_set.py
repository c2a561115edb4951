"""Rule `test_set`: choose usable SUN397 test images per category; list the rejected ones."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.tables import TEST_COLUMNS, write_rejected, write_tsv
from colorcnn.testset import sample_test_set

sm = snakemake
p = sm.params
rows, rejected = sample_test_set(
    p.root,
    p.n_per_category,
    p.seed,
    list_file=p.list_file or None,
    min_chroma=p.min_chroma,
    max_pixels=p.max_pixels,
    threads=sm.threads,
)
write_tsv(sm.output.table, TEST_COLUMNS, rows, {"root": p.root})
write_rejected(sm.output.rejected, rejected)
