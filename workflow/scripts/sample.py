"""Rule `sample`: choose the training images and write the manifest."""

import logging

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

from colorcnn.sampling import sample_training_set, write_manifest  # noqa: E402

p = snakemake.params  # noqa: F821
root, entries = sample_training_set(p.source, p.root, p.n_images, p.seed, allow_fewer=p.allow_fewer)
write_manifest(snakemake.output.manifest, entries, root)  # noqa: F821
logging.getLogger("sample").info("wrote %d entries from %s", len(entries), root)
