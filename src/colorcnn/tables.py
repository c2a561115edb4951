"""Every tab-separated table the workflow reads or writes: each table's columns, in one
place, and the readers and writers.

Two kinds:

- **record tables** (manifests, test sets, shard indexes, rejected files, colorize indexes):
  ``# key: value`` metadata lines, a header, then rows; written atomically by
  :func:`write_tsv`, read back by :func:`read_tsv` as ``(meta, rows as dicts)``. A manifest
  keeps its dataset root in ``# root:``; a shard index keeps the digests of its arrays.
- **result tables** (scores, summaries, results): pandas frames written by
  :func:`write_frame` (``%.6g`` floats) and read by :func:`read_frame`; the training metrics
  table grows a row at a time (:func:`append_row`).

Rows are built by column name, never by position: :func:`ordered` checks a row's keys
against its table's columns.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from .files import atomic_path

#: How every table is read and written: UTF-8, and a file name that is not UTF-8 (legal on
#: Linux; Python keeps its bytes as surrogate escapes) as its own bytes, losslessly.
TEXT = {"encoding": "utf-8", "errors": "surrogateescape"}

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("path", "class", "bytes")
TEST_COLUMNS = ("path", "category", "width", "height")
INDEX_COLUMNS = ("row", "path", "class")
REJECTED_COLUMNS = ("path", "reason", "detail")
COLORIZED_COLUMNS = ("image", "png")
#: ``classes.tsv`` of the data stage: images sampled, kept and rejected per class
CLASSES_COLUMNS = ("class", "sampled", "kept", "rejected")
#: ``metrics.tsv`` of a training run: one row per logging window
METRICS_COLUMNS = ("step", "epoch", "loss", "val_loss", "lr", "images_per_s", "backbone_weights")
#: ``scores.tsv``: one row per test image and system (``method``: ``model`` or a baseline)
SCORE_COLUMNS = (
    "method",
    "variant",
    "seed",
    "image",
    "category",
    "width",
    "height",
    "qssim",
    "ssim",
    "psnr",
    "colourfulness",
    "colourfulness_gt",
    "colourfulness_gap",
    "cf",
    "cf_gt",
    "cf_gap",
    "cf_abs_gap",
    "delta_e00",
)
#: ``perceptual/scores.tsv`` of a system: LPIPS per image (:mod:`colorcnn.perceptual`)
PERCEPTUAL_COLUMNS = ("method", "variant", "seed", "image", "lpips")
#: ``perceptual/fid.tsv``: each system's FID with its bootstrap interval
FID_COLUMNS = ("system", "fid", "fid_lo", "fid_hi", "n", "seeds", "n_boot")
#: ``results.tsv`` of a report: ``section`` is ``claim``, ``score`` or ``seeds``
RESULT_COLUMNS = (
    "section",
    "item",
    "comparison",
    "metric",
    "estimate",
    "lo",
    "hi",
    "win",
    "win_lo",
    "win_hi",
    "n",
    "verdict",
)


def ordered(row: dict, columns: Sequence[str]) -> tuple:
    """The values of ``row`` in the order of ``columns``; its keys must be exactly those."""
    if set(row) != set(columns):
        extra, missing = set(row) - set(columns), [c for c in columns if c not in row]
        raise ValueError(f"row does not fit {list(columns)}: missing {missing}, extra {extra}")
    return tuple(row[c] for c in columns)


def write_tsv(
    path: str | Path, columns: Sequence[str], rows: Iterable, meta: dict | None = None
) -> None:
    """Write ``# key: value`` lines for ``meta``, the header and the rows, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", **TEXT) as f:
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
    with open(path, newline="", **TEXT) as f:
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
    with open(path, **TEXT) as f:
        return next(ln for ln in f if not ln.startswith("# ")).rstrip("\n").split("\t")


def append_row(path: str | Path, columns: Sequence[str], row: dict) -> None:
    """Append one row (a dict) to a growing table, writing the header first if it is new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="", **TEXT) as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        if new:
            w.writerow(columns)
        w.writerow(ordered(row, columns))


def truncate_steps(path: str | Path, step: int) -> None:
    """Drop the rows of a growing table whose first column (a step) is past ``step``; at step 0
    remove the table (a fresh run)."""
    path = Path(path)
    if step == 0:
        path.unlink(missing_ok=True)
    elif path.exists():
        lines = path.read_text().splitlines(keepends=True)
        kept = lines[:1] + [r for r in lines[1:] if int(r.split("\t", 1)[0]) <= step]
        with atomic_path(path) as tmp:
            tmp.write_text("".join(kept))


def write_frame(df, path: str | Path, columns: Sequence[str] | None = None) -> None:
    """A pandas result table, atomically (floats as ``%.6g``); ``columns``: it must have exactly
    these, in this order."""
    if columns is not None and tuple(df.columns) != tuple(columns):
        raise ValueError(f"{path}: columns {list(df.columns)}, expected {list(columns)}")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", **TEXT)


def read_frame(path: str | Path):
    import pandas as pd

    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values=["", "nan", "NaN"],
        encoding="utf-8",
        encoding_errors="surrogateescape",
    )
