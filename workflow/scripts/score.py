"""Rules `score` (a run of the model) and `score_baselines` (gray, mean chroma): QSSIM, SSIM,
PSNR and colourfulness of every test image."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.evaluate import BASELINES, ScoreJob, read_stats, score_all
from colorcnn.tables import COLORIZED_COLUMNS, TEST_COLUMNS, read_rooted, read_tsv, write_frame

sm = snakemake
p = sm.params
root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
if "colorized" in sm.input.keys():  # a run of the model
    pngs = {r["image"]: r["png"] for r in read_tsv(sm.input.colorized, COLORIZED_COLUMNS)[1]}
    what = [dict(prediction=pngs[r["path"]], run=dict(p.run)) for r in rows]
else:  # the baselines
    what = [dict(baselines=BASELINES, stats=read_stats(sm.input.stats))] * len(rows)
jobs = [
    ScoreJob(
        r["path"],
        r["category"],
        str(root / r["path"]),
        resolution=p.resolution,
        model_size=p.model_size,
        **w,
    )
    for r, w in zip(rows, what, strict=True)
]
write_frame(score_all(jobs, processes=sm.threads), sm.output.scores)
