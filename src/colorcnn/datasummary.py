"""What the data stage kept and dropped, in three small files (no array is read):

- every rejected training file with its reason (the shards' rejected tables concatenated);
- per class: images sampled, kept and rejected, so that a class that lost all its images is
  named (in the table and in a warning), never silently gone;
- the mean U and V of the training pixels, for the mean-chroma baseline.
"""

from __future__ import annotations

import json
import logging
from collections import Counter

from .files import atomic_path
from .sampling import read_manifest
from .shards import chroma_stats, read_index
from .tables import CLASSES_COLUMNS, concat_tsv, read_tsv, write_tsv

log = logging.getLogger(__name__)


def summarize_shards(manifest, index_tables, rejected_tables, *, rejected, classes, chroma):
    """Write the three summaries (to the paths ``rejected``, ``classes``, ``chroma``);
    returns the per-class counts."""
    n_rejected = concat_tsv(rejected_tables, rejected)
    _, entries = read_manifest(manifest)
    cls = {e.path: e.cls for e in entries}
    sampled = Counter(cls.values())
    kept = Counter(r["class"] for p in index_tables for r in read_index(p)[1])
    dropped = Counter(cls[r["path"]] for p in rejected_tables for r in read_tsv(p)[1])
    rows = [(c, sampled[c], kept[c], dropped[c]) for c in sorted(sampled)]
    write_tsv(classes, CLASSES_COLUMNS, rows)
    empty = [c for c, n, k, _ in rows if k == 0]
    if empty:
        log.warning(
            "%d of %d classes lost every image (see %s and %s): %s",
            len(empty),
            len(rows),
            classes,
            rejected,
            ", ".join(empty[:20]),
        )
    stats = chroma_stats(index_tables)
    with atomic_path(chroma) as tmp:
        tmp.write_text(json.dumps(stats, indent=1))
    log.info(
        "%d files sampled, %d kept, %d rejected; mean U %.2f, V %.2f",
        len(entries),
        sum(kept.values()),
        n_rejected,
        stats["mean_u"],
        stats["mean_v"],
    )
    return {c: (n, k, r) for c, n, k, r in rows}
