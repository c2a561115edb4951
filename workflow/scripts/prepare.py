"""Rule `prepare`: convert one shard of the manifest to Y and UV arrays."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.config import PrepareOptions
from colorcnn.shards import ShardFiles, prepare_shard

sm = snakemake
files = ShardFiles(**{k: sm.output[k] for k in ("Y", "UV", "index", "rejected")})
opts = PrepareOptions(**sm.params.options)
k = int(sm.wildcards.shard)
prepare_shard(
    sm.input.manifest, k, sm.params.shard_size, files, opts, sm.threads, sm.params.train_rows
)
