"""Rule `fid`: every system's FID against the originals, with a bootstrap interval over
images, from the perceptual jobs' Inception features."""

import _bootstrap

_bootstrap.start(snakemake)

import torch

from colorcnn.perceptual import fid_table
from colorcnn.runtime import select_device
from colorcnn.tables import FID_COLUMNS, write_frame

sm = snakemake
p = sm.params
torch.set_num_threads(sm.threads)
table = fid_table(list(sm.input.features), p.n_boot, device=str(select_device(p.device)))
write_frame(table, sm.output.fid, FID_COLUMNS)
