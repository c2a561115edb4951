"""Rule `test_set`: choose usable SUN397 test images per category, or an ImageNet val
protocol's images (val5k, val50k: prepared into the truth folder); list the rejected ones."""

import _bootstrap

_bootstrap.start(snakemake)

from pathlib import Path

from colorcnn.tables import TEST_COLUMNS, write_rejected, write_tsv
from colorcnn.testset import imagenet_val_test_set, sample_test_set

sm = snakemake
p = sm.params
truth = Path(sm.output.truth)
if p.source == "imagenet_val":
    rows, rejected = imagenet_val_test_set(
        p.root,
        p.protocol,
        truth,
        list_file=p.list_file or None,
        max_pixels=p.max_pixels,
        threads=sm.threads,
    )
else:
    rows, rejected = sample_test_set(
        p.root,
        p.n_per_category,
        p.seed,
        list_file=p.list_file or None,
        min_chroma=p.min_chroma,
        max_pixels=p.max_pixels,
        threads=sm.threads,
    )
    truth.mkdir(parents=True, exist_ok=True)
prepared = p.protocol != "original"
root = truth.resolve() if prepared else p.root
(truth / "PROTOCOL.txt").write_text(
    f"test protocol {p.protocol} on {p.root}: {len(rows)} images; "
    + ("the prepared ground truth is here\n" if prepared else "scored at their own resolution\n")
)
write_tsv(sm.output.table, TEST_COLUMNS, rows, {"root": str(root)})
write_rejected(sm.output.rejected, rejected)
