"""Tabular helpers (TSV files) shared by several stages."""

from __future__ import annotations

import logging
from pathlib import Path

from .io import atomic_path

log = logging.getLogger(__name__)


def concat_tsv(inputs, output: str | Path) -> int:
    """Concatenate TSV files that share a header; returns the number of data rows written."""
    header = None
    n = 0
    with atomic_path(output) as tmp, open(tmp, "w") as out:
        for path in inputs:
            with open(path) as f:
                h = f.readline()
                if header is None:
                    header = h
                    out.write(h)
                elif h != header:
                    raise ValueError(f"{path}: header {h!r} differs from {header!r}")
                for line in f:
                    out.write(line)
                    n += 1
    log.info("%d rows into %s", n, output)
    return n
