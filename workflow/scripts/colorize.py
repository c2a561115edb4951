"""Rule `colorize`: colorize every test image at its original resolution."""

import _bootstrap

_bootstrap.start(snakemake)

import torch

from colorcnn.colorize import Colorizer, check_output_dir, colorize_files
from colorcnn.layout import output_name
from colorcnn.tables import COLORIZED_COLUMNS, TEST_COLUMNS, read_rooted, write_tsv

sm = snakemake
p = sm.params
torch.set_num_threads(sm.threads)
root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
pairs = [(root / r["path"], output_name(r["path"])) for r in rows]
out = check_output_dir(sm.output.images)
colorizer = Colorizer.from_checkpoint(sm.input.model, device=p.device, size=p.size)
res = colorize_files(
    colorizer, pairs, out, batch_size=p.batch_size, alpha=p.alpha, compression=p.compression
)
if res["failed"]:
    raise RuntimeError(f"{len(res['failed'])} test images could not be colorized: {res['failed']}")
write_tsv(
    sm.output.index,
    COLORIZED_COLUMNS,
    ((r["path"], out / rel) for r, (_, rel) in zip(rows, pairs, strict=True)),
)
