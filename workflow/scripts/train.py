"""Rule `train`: train one variant and seed of the model on the shards (DDP, one process per
GPU the job was given, when train.gpus > 1; a job given GPUs that cannot use CUDA fails here).

DDP sizing: the job's threads are shared by its processes; each runs ``threads // gpus``
torch threads and, with train.loader_workers -1, that share minus one loader workers."""

import _bootstrap

_bootstrap.start(snakemake)

from pathlib import Path

import torch

from colorcnn.backbone import read_record
from colorcnn.config import TrainConfig
from colorcnn.runtime import launch, plan_processes, usable_gpus
from colorcnn.train import Job, train

sm = snakemake
p = sm.params
nproc, device = plan_processes(p.gpus, usable_gpus())
torch.set_num_threads(max(1, sm.threads // nproc))
cfg = TrainConfig(**p.train)
checkpoints = Path(sm.output.model).parent / "checkpoints"  # beside the model, wherever it goes
settings = dict(p.train, device=device, loader_workers=cfg.workers_for(sm.threads, nproc))
job = Job(
    y=list(sm.input.Y),
    uv=list(sm.input.UV),
    index=list(sm.input.index),
    backbone=sm.input.backbone,
    backbone_description=read_record(sm.input.backbone_record)["description"],
    model=sm.output.model,
    metrics=sm.output.metrics,
    summary=sm.output.summary,
    checkpoint_dir=str(checkpoints),
    head=p.head,
    train=settings,
    n_train_rows=p.n_train_rows,
    record=dict(p.record),
    log=sm.log[0],
)
if nproc > 1:
    job_file = checkpoints / "job.json"
    job.save(job_file)
    launch(job_file, nproc, sm.threads)
else:
    train(job)
