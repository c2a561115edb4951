"""Rule `sample`: choose the training images and write the manifest."""

import logging

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.sampling import sample_training_set, write_manifest

p = snakemake.params
root, entries = sample_training_set(
    p.source, p.root, p.n_images, p.seed, allow_fewer=p.allow_fewer, held_out=p.n_val_images
)
write_manifest(snakemake.output.manifest, entries, root)
logging.getLogger("sample").info("wrote %d entries from %s", len(entries), root)
