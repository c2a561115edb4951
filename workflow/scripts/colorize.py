"""Rule `colorize`: colorize every test image at its original resolution."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

import csv  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from colorcnn.colorize import Colorizer, colorize_files  # noqa: E402
from colorcnn.sampling import read_table  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
root, rows = read_table(sm.input.table)
pairs = [(root / r["path"], Path(r["path"]).with_suffix(".png")) for r in rows]
colorizer = Colorizer.from_checkpoint(sm.input.model, device=sm.params.device, size=sm.params.size)
out = Path(sm.output.images)
out.mkdir(parents=True, exist_ok=True)
res = colorize_files(colorizer, pairs, out, batch_size=sm.params.batch_size, alpha=sm.params.alpha)
if res["failed"]:
    raise RuntimeError(f"{len(res['failed'])} test images could not be colorized: {res['failed']}")
with open(sm.output.index, "w", newline="") as f:
    w = csv.writer(f, delimiter="\t", lineterminator="\n")
    w.writerow(("image", "png"))
    w.writerows((r["path"], str(out / rel)) for r, (_, rel) in zip(rows, pairs, strict=True))
