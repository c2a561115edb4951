"""Logging for rule scripts, DDP workers and the command line: all detail to the
rule's log file, a readable console."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(
    logfile: str | Path | None = None,
    *,
    console: int = logging.INFO,
    mode: str = "w",
    tag: str = "",
) -> None:
    """Everything (DEBUG and up) to ``logfile`` (the rule's ``log:``); ``console`` and up to
    stderr. Per-file detail is logged at DEBUG, so a paper-scale console stays readable.
    ``tag`` (e.g. ``rank 1``) starts every line, for processes that share a log."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(console)
    handlers: list[logging.Handler] = [stream]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        # a file name that is not UTF-8 is logged with its odd bytes as \xNN, never an error
        handlers.append(
            logging.FileHandler(logfile, mode=mode, encoding="utf-8", errors="backslashreplace")
        )
    logging.basicConfig(
        level=logging.DEBUG,
        format=f"%(asctime)s {tag + ' ' if tag else ''}%(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("PIL", "matplotlib", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
