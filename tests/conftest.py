"""Shared fixtures: a stand-in ``snakemake`` object to run rule scripts, the workflow's
configuration, and dataset trees in the real layouts."""

from __future__ import annotations

import logging
import runpy
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
sys.path.insert(0, str(ROOT / "src"))

from colorcnn.synthetic import save_jpeg  # noqa: E402


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
        import torch

        sm = StandInSnakemake(**kwargs)
        sys.path.insert(0, str(SCRIPTS))
        threads = torch.get_num_threads()  # scripts set the rule's threads: restore them
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
            torch.set_num_threads(threads)

    return run


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


def workflow_config(*overrides) -> dict:
    """config.yaml with ``overrides`` (dicts or YAML files) merged in as Snakemake merges
    configfiles (recursively)."""
    from snakemake.utils import update_config

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for over in overrides:
        if not isinstance(over, dict):
            over = yaml.safe_load(Path(over).read_text())
        update_config(cfg, over)
    return cfg
