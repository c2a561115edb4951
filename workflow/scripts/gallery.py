"""Rule `gallery`: every test image under every system, side by side, in a static HTML page
with thumbnails (and larger views), sortable by scores and by each claim's paired difference."""

import _bootstrap

_bootstrap.start(snakemake)

from colorcnn.external import match_outputs
from colorcnn.gallery import build_gallery
from colorcnn.scoring import read_stats
from colorcnn.tables import COLORIZED_COLUMNS, TEST_COLUMNS, read_frame, read_rooted, read_tsv

sm = snakemake
p, inp = sm.params, sm.input
root, rows = read_rooted(inp.table, TEST_COLUMNS)
paths = [r["path"] for r in rows]
colorized = {
    variant: {r["image"]: r["png"] for r in read_tsv(index, COLORIZED_COLUMNS)[1]}
    for variant, index in zip(p.variants, inp.colorized, strict=True)
}
for name, folder in zip(p.externals, inp.external, strict=True):  # matched as they were scored
    colorized[name] = {image: str(png) for image, png in match_outputs(folder, paths).pairs}
build_gallery(
    sm.output[0],
    read_frame(inp.scores),
    read_frame(inp.claims),
    {r["path"]: str(root / r["path"]) for r in rows},
    colorized,
    read_stats(inp.stats),
    thumb_size=p.thumb_size,
    view_size=p.view_size,
    per_page=p.per_page,
    threads=sm.threads,
    title=p.title,
)
