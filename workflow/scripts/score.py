"""Rule `score`: QSSIM, SSIM, PSNR and colourfulness for the model and the baselines."""

import _bootstrap

_bootstrap.start(snakemake)  # noqa: F821

import csv  # noqa: E402

from colorcnn.evaluate import ScoreJob, read_stats, score_all, summarize  # noqa: E402
from colorcnn.io import atomic_path  # noqa: E402
from colorcnn.sampling import read_table  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params
root, rows = read_table(sm.input.table)
with open(sm.input.index, newline="") as f:
    pngs = {r["image"]: r["png"] for r in csv.DictReader(f, delimiter="\t")}
stats = read_stats(sm.input.stats)
jobs = [
    ScoreJob(
        r["path"],
        r["category"],
        str(root / r["path"]),
        {"model": pngs[r["path"]]},
        p.resolution,
        p.model_size,
        stats,
    )
    for r in rows
]
scores = score_all(jobs, processes=sm.threads)
for df, path in (
    (scores, sm.output.scores),
    (summarize(scores, ("method",), p.n_boot), sm.output.summary),
    (summarize(scores, ("method", "category"), p.n_boot), sm.output.by_category),
):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
