"""Rule `backbone`: resolve model.backbone_weights into a verified weights file (local rule:
the only place where weights are downloaded)."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.backbone import plan_backbone, resolve_backbone

p = snakemake.params
# planned again here (a local rule: the machine, and the cache, where the DAG was built)
plan = plan_backbone(p.key["weights"], download=p.download, data_source=p.data_source)
if plan.key != p.key:
    raise RuntimeError(f"the backbone plan changed since the DAG was built: {plan.key} != {p.key}")
resolve_backbone(plan, snakemake.output.weights, snakemake.output.record)
