"""Rule `backbone`: resolve model.backbone_weights into a verified weights file (local rule:
the only place where weights are downloaded)."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.backbone import BackbonePlan, resolve_backbone

plan = BackbonePlan(**snakemake.params.plan)
resolve_backbone(plan, snakemake.output.weights, snakemake.output.record)
