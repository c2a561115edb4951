"""Durable files: atomic writes that survive a crash, and the leftovers of killed writers."""

from __future__ import annotations

import contextlib
import os
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


def listing_digest(*paths: str | Path) -> str:
    """A digest of what is in ``paths`` (folders, walked recursively, and files): every file's
    path relative to its root, size and modification time, never its content. An added,
    deleted, renamed or rewritten file changes it. It costs one ``stat`` a file: 200k files
    list in 1 s here, so ILSVRC's 1.28M in about 7 s (threads were slower: the GIL). Names
    are taken as bytes, whatever their encoding."""
    import hashlib

    h = hashlib.sha256()
    for path in paths:
        top = os.fsencode(path)
        h.update(b"\0root\0" + top + b"\n")
        if not os.path.isdir(top):
            st = os.stat(top)
            h.update(b"%d %d\n" % (st.st_size, st.st_mtime_ns))
            continue
        stack = [b""]
        while stack:  # depth first, each folder's entries by name: one order for one content
            rel = stack.pop()
            with os.scandir(os.path.join(top, rel) if rel else top) as it:
                entries = sorted(it, key=lambda e: e.name, reverse=True)
            for e in entries:
                name = os.path.join(rel, e.name) if rel else e.name
                if e.is_dir(follow_symlinks=True):
                    stack.append(name)
                else:
                    st = e.stat(follow_symlinks=True)
                    h.update(b"%s\0%d %d\n" % (name, st.st_size, st.st_mtime_ns))
    return h.hexdigest()[:16]
