"""Rule `train`: train the colorization head on the shards (DDP via torchrun when gpus > 1)."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from colorcnn.model import HeadConfig  # noqa: E402
from colorcnn.train import BackboneConfig, RunPaths, TrainConfig, launch, train, write_spec  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params
torch.set_num_threads(sm.threads)
paths = RunPaths(
    Path(sm.output.model),
    Path(p.checkpoint_dir),
    Path(sm.output.metrics),
    Path(sm.output.summary),
)
train_cfg = dict(p.train)
if train_cfg.get("loader_workers", 0) < 0:  # auto: from the rule's threads
    train_cfg["loader_workers"] = max(0, sm.threads - 1)
args = (
    sm.input.Y,
    paths,
    HeadConfig(**p.head),
    TrainConfig(**train_cfg),
    BackboneConfig(**p.backbone),
)
if p.gpus > 1:
    spec = Path(p.checkpoint_dir) / "spec.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    write_spec(spec, *args)
    launch(spec, p.gpus)
else:
    train(*args)
