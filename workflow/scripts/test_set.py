"""Rule `test_set`: choose usable SUN397 test images per category; list the rejected ones."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

from colorcnn.images import DecodeLimits  # noqa: E402
from colorcnn.sampling import TEST_COLUMNS, sample_test_set, write_table  # noqa: E402
from colorcnn.shards import write_rejected  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params
rows, rejected = sample_test_set(
    p.root,
    p.n_per_category,
    p.seed,
    list_file=p.list_file or None,
    min_chroma=p.min_chroma,
    limits=DecodeLimits(max_pixels=p.max_pixels),
    threads=sm.threads,
)
write_table(sm.output.table, p.root, TEST_COLUMNS, rows)
write_rejected(sm.output.rejected, rejected)
