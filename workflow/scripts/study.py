"""Rule `study`: all scores in one table; the paper's claims as paired comparisons, per-system
summaries, the seeds' spread and the reference model against gray per category."""

import _bootstrap

_bootstrap.start(snakemake)

import pandas as pd

from colorcnn import study
from colorcnn.scoring import metrics_in
from colorcnn.systems import GRAY
from colorcnn.tables import SCORE_COLUMNS, read_frame, write_frame

sm = snakemake
p = sm.params
files = [*sm.input.runs, *sm.input.external, sm.input.baselines]
scores = pd.concat([read_frame(f) for f in files], ignore_index=True)
lpips = [read_frame(f) for f in sm.input.lpips]
if lpips:  # LPIPS on (score.perceptual.lpips)
    scores = study.with_lpips(scores, pd.concat(lpips, ignore_index=True))
write_frame(scores, sm.output.scores, [*SCORE_COLUMNS, *(["lpips"] if lpips else [])])
claims = study.claims_table(
    scores, p.claims, p.reference, external=p.external_claims, n_resamples=p.n_boot
)
write_frame(claims, sm.output.claims)
summary = study.summarize(scores, metrics_in(scores.columns), p.n_boot)
if sm.input.fid:  # FID on (score.perceptual.fid): one value per system
    summary = study.with_fid(summary, read_frame(sm.input.fid[0]))
write_frame(summary, sm.output.summary)
write_frame(study.seed_spread(scores, n_resamples=p.n_boot), sm.output.seeds)
write_frame(
    study.by_category(scores, p.reference, GRAY, n_resamples=p.n_boot), sm.output.by_category
)
