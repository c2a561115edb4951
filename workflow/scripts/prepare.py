"""Rule `prepare`: convert one shard of the manifest to Y and UV arrays."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

from colorcnn.images import DecodeLimits  # noqa: E402
from colorcnn.shards import PrepareOptions, prepare_shard  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params
opts = PrepareOptions(
    image_size=p.image_size,
    resize=p.resize,
    resample=p.resample,
    limits=DecodeLimits(min_side=p.min_side, max_pixels=p.max_pixels),
    min_chroma=p.min_chroma,
    reduced_decode=p.reduced_decode,
)
out = {k: sm.output[k] for k in ("Y", "UV", "index", "rejected")}
prepare_shard(sm.input.manifest, int(sm.wildcards.shard), p.shard_size, out, opts, sm.threads)
