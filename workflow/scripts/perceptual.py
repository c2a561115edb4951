"""Rule `perceptual` (and `perceptual_baselines`, `perceptual_external`): LPIPS per image and
the Inception features FID needs, of one system on every test image (the originals' features
too, in the baselines' job), where score.perceptual gives their weights."""

import _bootstrap

_bootstrap.start(snakemake)

import torch

from colorcnn.external import external_jobs
from colorcnn.perceptual import load_nets, write_system
from colorcnn.runtime import select_device
from colorcnn.scoring import baseline_jobs, run_jobs
from colorcnn.tables import TEST_COLUMNS, read_rooted

sm = snakemake
p = sm.params
torch.set_num_threads(sm.threads)
device = str(select_device(p.device))
nets = load_nets(p.lpips, p.lpips_vgg, p.fid, device=device)
at = {"resolution": p.resolution, "model_size": p.model_size}
if p.kind == "run":
    jobs = run_jobs(sm.input.table, sm.input.colorized, dict(p.run), **at)
elif p.kind == "baselines":
    jobs = baseline_jobs(sm.input.table, sm.input.stats, p.baselines, **at)
else:
    root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
    jobs, _ = external_jobs(
        sm.wildcards.system, sm.input.outputs, root, rows, resize=p.resize, **at
    )
write_system(jobs, nets, sm.output.scores, sm.output.features, truth=p.kind == "baselines")
