"""Small I/O helpers: durable atomic writes, leftovers of killed writers, logging, versions."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from pathlib import Path

TMP_PREFIX = ".tmp-"


def tmp_name(path: Path) -> Path:
    """The temporary name a writer of ``path`` uses: ``.tmp-<pid>-<name>`` beside it."""
    return path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")


def fsync_path(path: str | Path, *, directory: bool = False) -> None:
    """Flush a file's (or a directory's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to ``path``; on success fsync it and rename it onto ``path``.

    A killed or failing writer leaves at most a ``.tmp-*`` file (see
    :func:`remove_leftovers`), never something under the final name that looks finished,
    and a finished file survives a crash of the machine right after the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent, directory=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def remove_leftovers(*paths: str | Path) -> list[Path]:
    """Delete temporary files that killed writers of ``paths`` left (any process id)."""
    removed = []
    for p in map(Path, paths):
        if not p.parent.is_dir():
            continue
        for tmp in p.parent.glob(f"{TMP_PREFIX}*-{p.name}"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def setup_logging(
    logfile: str | Path | None = None, *, console: int = logging.INFO, mode: str = "w"
) -> None:
    """Everything (DEBUG and up) to ``logfile`` (the rule's ``log:``); ``console`` and up to
    stderr. Per-file detail is logged at DEBUG, so a paper-scale console stays readable."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(console)
    handlers: list[logging.Handler] = [stream]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode=mode))
    logging.basicConfig(
        level=logging.DEBUG,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("PIL", "matplotlib", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@functools.lru_cache(maxsize=4)
def code_version(where: str | Path | None = None) -> str:
    """The checkout's commit (``git describe --always --tags``), with ``-dirty`` when a
    tracked file other than the committed reports differs from it; else the package version.

    Regenerating ``reports/`` changes tracked files without changing the code, so it does not
    make the version dirty.
    """
    import subprocess

    from . import __version__

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args],
                cwd=where or Path(__file__).resolve().parent,
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    rev = git("describe", "--always", "--tags")
    if not rev:
        return __version__
    changed = git(
        "status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)reports"
    )
    return f"{__version__}+git.{rev}{'-dirty' if changed else ''}"
