"""Make the library importable from a rule script and log to the rule's log file.

Snakemake puts this folder (or, for a workflow used as a module from git, the source cache's
copy of it) on ``sys.path``. The library is the workflow's own: ``COLORCNN_LIBRARY``, which
the workflow sets while it builds the DAG (``workflow/rules/common.smk``), or else ``src/``
of the checkout this file lies in (a script run by hand, the tests). It goes first on
``sys.path`` so that scripts always run the workflow's library: with and without
``--use-conda``, without installing the package into the env, and never a stale copy
installed elsewhere.
"""

import logging
import os
import sys
from pathlib import Path

SRC = os.environ.get("COLORCNN_LIBRARY") or str(Path(__file__).resolve().parents[2] / "src")
while SRC in sys.path:
    sys.path.remove(SRC)
sys.path.insert(0, SRC)

from colorcnn.logs import setup_logging  # noqa: E402


def _log_uncaught(exc_type, exc, tb):
    logging.getLogger("rule").critical("rule failed", exc_info=(exc_type, exc, tb))


def start(snakemake) -> None:
    """Log to the rule's first ``log:`` file (all detail) and to stderr (INFO and up),
    uncaught errors included."""
    setup_logging(snakemake.log[0] if len(snakemake.log) else None)
    sys.excepthook = _log_uncaught
    logging.getLogger("rule").debug("colorcnn library: %s", SRC)
