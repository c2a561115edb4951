"""Shared fixtures: a stand-in ``snakemake`` object to run rule scripts, and image makers."""

from __future__ import annotations

import logging
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
sys.path.insert(0, str(ROOT / "src"))


class _NamedList(list):
    """A list whose items are also attributes and keys, like Snakemake's ``Namedlist``."""

    def __init__(self, items=None, **named):
        super().__init__([*(items or []), *named.values()])
        self._named = dict(named)
        for k, v in named.items():
            setattr(self, k, v)

    def __getitem__(self, key):
        return self._named[key] if isinstance(key, str) else super().__getitem__(key)

    def keys(self):
        return self._named.keys()


def _as_named(value):
    if isinstance(value, dict):
        return _NamedList(**{k: str(v) if isinstance(v, Path) else v for k, v in value.items()})
    return _NamedList([str(v) if isinstance(v, Path) else v for v in (value or [])])


class StandInSnakemake:
    """What a rule script sees as ``snakemake``: input, output, params, wildcards, threads, log."""

    def __init__(
        self,
        *,
        input=None,
        output=None,
        params=None,
        wildcards=None,
        threads=1,
        log=None,
        resources=None,
    ):
        self.input = _as_named(input)
        self.output = _as_named(output)
        self.params = _NamedList(**(params or {}))
        self.wildcards = _NamedList(**(wildcards or {}))
        self.threads = threads
        self.log = _as_named(log)
        self.resources = _NamedList(**(resources or {}))
        self.rule = "test"
        self.scriptdir = str(SCRIPTS)


@pytest.fixture
def run_script():
    """Run ``workflow/scripts/<name>.py`` with a stand-in ``snakemake`` object."""

    def run(name: str, **kwargs):
        sm = StandInSnakemake(**kwargs)
        sys.path.insert(0, str(SCRIPTS))
        try:
            return runpy.run_path(
                str(SCRIPTS / f"{name}.py"), init_globals={"snakemake": sm}, run_name="__main__"
            )
        finally:
            sys.path.remove(str(SCRIPTS))
            # the script logged to its log file and to this test's captured stderr: detach
            for h in logging.getLogger().handlers[:]:
                logging.getLogger().removeHandler(h)
                h.close()
            sys.excepthook = sys.__excepthook__

    return run


def natural_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, colourful uint8 RGB test image (gradients plus blobs plus mild noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack(
        [
            0.5 + 0.4 * np.sin(6 * xx + rng.uniform(0, 6)),
            0.5 + 0.4 * np.cos(5 * yy + rng.uniform(0, 6)),
            0.5 + 0.4 * np.sin(4 * (xx + yy) + rng.uniform(0, 6)),
        ],
        axis=-1,
    )
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def save_jpeg(path: Path, h: int = 120, w: int = 160, seed: int = 0, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(natural_rgb(h, w, seed)).save(path, format="JPEG", quality=90, **kw)
    return path


def make_ilsvrc_tree(root: Path, n_classes: int, per_class, *, real_images: bool = True) -> Path:
    """An ILSVRC-2012-layout tree ``root/train/nXXXXXXXX/nXXXXXXXX_K.JPEG``."""
    train = root / "train"
    for c in range(n_classes):
        syn = f"n{c:08d}"
        n = per_class(c) if callable(per_class) else per_class
        (train / syn).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            p = train / syn / f"{syn}_{k}.JPEG"
            if real_images:
                save_jpeg(p, 48 + (k % 3) * 8, 64, seed=c * 1000 + k)
            else:
                p.touch()
    return root
