"""Every tab-separated table the workflow reads or writes, in one place.

Two kinds:

- **record tables** (manifests, test sets, shard indexes, rejected files, colorize indexes):
  ``# key: value`` metadata lines, a header, then rows; written atomically by
  :func:`write_tsv`, read back by :func:`read_tsv` as ``(meta, rows as dicts)``. A manifest
  keeps its dataset root in ``# root:``; a shard index keeps the digests of its arrays.
- **result tables** (scores, summaries, metrics): pandas frames written by :func:`write_frame`
  (``%.6g`` floats) and read by :func:`read_frame`.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from .io import atomic_path

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("path", "class", "bytes")
TEST_COLUMNS = ("path", "category", "width", "height")
INDEX_COLUMNS = ("row", "path", "class")
REJECTED_COLUMNS = ("path", "reason", "detail")
COLORIZED_COLUMNS = ("image", "png")


def write_tsv(
    path: str | Path, columns: Sequence[str], rows: Iterable, meta: dict | None = None
) -> None:
    """Write ``# key: value`` lines for ``meta``, the header and the rows, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        for k, v in (meta or {}).items():
            f.write(f"# {k}: {v}\n")
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)


def read_tsv(
    path: str | Path,
    columns: Sequence[str] | None = None,
    *,
    require: Sequence[str] = (),
    rows: slice | None = None,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Read a table written by :func:`write_tsv`: ``(meta, rows)``.

    ``columns``: the header must be exactly these. ``require``: metadata keys that must be
    present (e.g. ``root`` for a manifest). ``rows``: only these data rows (streamed: a
    prepare job reads its shard's rows of a 500k-row manifest without parsing the rest).
    Errors name the file and what was expected.
    """
    meta: dict[str, str] = {}
    with open(path, newline="") as f:
        line = f.readline()
        while line.startswith("# "):
            key, sep, value = line[2:].rstrip("\n").partition(": ")
            if not sep:
                raise ValueError(f"{path}: malformed metadata line {line.rstrip()!r}")
            meta[key] = value
            line = f.readline()
        header = line.rstrip("\n").split("\t") if line else []
        if columns is not None and tuple(header) != tuple(columns):
            raise ValueError(f"{path}: header {header}, expected {list(columns)}")
        missing = [k for k in require if k not in meta]
        if missing:
            raise ValueError(f"{path}: no '# {missing[0]}: ...' line; was it written by colorcnn?")
        reader = csv.DictReader(f, fieldnames=header, delimiter="\t")
        wanted = itertools.islice(reader, rows.start, rows.stop) if rows else reader
        return meta, list(wanted)


def read_rooted(
    path: str | Path, columns: Sequence[str], rows: slice | None = None
) -> tuple[Path, list[dict[str, str]]]:
    """A table whose paths are relative to the ``# root:`` it records (manifest, test set)."""
    meta, data = read_tsv(path, columns, require=("root",), rows=rows)
    return Path(meta["root"]), data


def write_rejected(path: str | Path, rows: Iterable[tuple[str, str, str]]) -> None:
    """Rejected inputs: ``path``, ``reason`` code, ``detail``."""
    write_tsv(path, REJECTED_COLUMNS, rows)


def concat_tsv(inputs: Iterable[str | Path], output: str | Path) -> int:
    """Concatenate tables that share a header (metadata lines dropped); returns the row count."""
    header, rows = None, []
    for path in inputs:
        _, part = read_tsv(path)
        cols = tuple(part[0]) if part else tuple(_header(path))
        if header is None:
            header = cols
        elif cols != header:
            raise ValueError(f"{path}: header {list(cols)} differs from {list(header)}")
        rows += [tuple(r[c] for c in header) for r in part]
    write_tsv(output, header or REJECTED_COLUMNS, rows)
    log.info("%d rows into %s", len(rows), output)
    return len(rows)


def _header(path) -> list[str]:
    with open(path) as f:
        return next(ln for ln in f if not ln.startswith("# ")).rstrip("\n").split("\t")


def write_frame(df, path: str | Path) -> None:
    """A pandas result table, atomically (floats as ``%.6g``)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def read_frame(path: str | Path):
    import pandas as pd

    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["", "nan", "NaN"])
