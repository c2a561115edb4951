"""Where a result came from: the code version, and the identity of a training run.

A run is keyed by everything that determines its trajectory (:func:`run_key`: head, training
settings, the data's content fingerprint, the backbone's SHA-256); :func:`run_id` hashes the
key, so a run resumes only with the same key, and :func:`explain_new_run` says which part
changed when it does not.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the workflow imports nothing heavy from here
    from .config import HeadConfig, TrainConfig

log = logging.getLogger(__name__)


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


def run_key(
    head: HeadConfig, cfg: TrainConfig, data: str, backbone: str, numerics: dict | None = None
) -> dict:
    """Everything that determines the trajectory of a run. ``numerics`` (precision, world
    size, compile) are in it: a run resumed in another precision or on another number of
    processes would be one trajectory computed two ways."""
    key = {"head": asdict(head), "train": cfg.trajectory(), "data": data, "backbone": backbone}
    key["numerics"] = numerics or {"precision": "float32", "world_size": 1, "compile": False}
    return key


def run_id(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def record_latest_run(latest: Path, rid: str, key: dict) -> None:
    """Record the run id and key of the run now training, atomically (a reader never sees
    half a file)."""
    from .files import atomic_path

    with atomic_path(latest) as tmp:
        tmp.write_text(json.dumps({"run_id": rid, "key": key}, indent=1))


def explain_new_run(latest: Path, rid: str, key: dict) -> None:
    """Log why a run starts afresh instead of resuming the previous one. A damaged record
    (empty, half written by an older version) is reported and ignored: it only explains."""
    if not latest.exists():
        return
    try:
        prev = json.loads(latest.read_text())
        prev_id, prev_key = prev["run_id"], dict(prev["key"])
    except (ValueError, KeyError, TypeError) as e:
        log.warning("%s is damaged (%s: %s): ignored, it is rewritten", latest, type(e).__name__, e)
        return
    if prev_id == rid:
        return
    changed = [k for k in key if prev_key.get(k) != key[k]]
    log.info("not resuming run %s: %s changed", prev_id, ", ".join(changed) or "?")


@functools.cache
def _imports(path: Path) -> tuple[str, ...]:
    """Every module name ``path`` imports (lazy imports inside functions included), relative
    imports made absolute within ``colorcnn``."""
    import ast

    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"colorcnn.{base}" if base else "colorcnn"
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    return tuple(names)


@functools.cache
def library_digest(script: str | Path, library: str | Path) -> str:
    """A digest of the library code a rule script runs: the ``colorcnn`` modules (under
    ``library``) it imports, those they import, and so on, with ``_bootstrap``. A rule gets it
    as a param, so that an edit to that code reruns the rule and what depends on it, and an
    edit elsewhere does not. Standard library only (the workflow calls it while it builds
    the DAG)."""
    script, lib = Path(script), Path(library) / "colorcnn"
    todo, files = [script], set()  # __init__ holds the version and the module list only
    while todo:
        path = todo.pop()
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "_bootstrap":
                found = [script.parent / "_bootstrap.py", Path(library) / "_bootstrap.py"]
            elif parts[0] == "colorcnn" and len(parts) > 1:
                found = [lib.joinpath(*parts[1:-1], f"{parts[-1]}.py")]
            else:
                continue
            for f in found:
                if f.is_file() and f not in files:
                    files.add(f)
                    todo.append(f)
                    break
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f"{f.name}\0".encode() + f.read_bytes())
    return h.hexdigest()[:16]
