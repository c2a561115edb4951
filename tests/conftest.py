"""Shared by the tests (the test files mirror the library's modules, one each, plus the rule
scripts, the workflow and the benchmarks): a stand-in ``snakemake`` object to run rule
scripts, the workflow's configuration and rule blocks, dataset trees in the real layouts,
training jobs, small models and checkpoints."""

from __future__ import annotations

import logging
import re
import runpy
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SCRIPTS = ROOT / "workflow" / "scripts"
sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from colorcnn import backbone as B  # noqa: E402
from colorcnn.checkpoint import save_checkpoint  # noqa: E402
from colorcnn.config import HeadConfig, TrainConfig  # noqa: E402
from colorcnn.model import ColorizationNet  # noqa: E402
from colorcnn.sampling import Entry, write_manifest  # noqa: E402
from colorcnn.testimages import natural_rgb, save_jpeg  # noqa: E402
from colorcnn.train import Job  # noqa: E402

#: model input size of the small test models
SIZE = 32


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


@pytest.fixture(scope="module")
def backbone_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("backbone")
    B.resolve_backbone(B.BackbonePlan("random", ""), d / "weights.pt", d / "weights.json")
    return d / "weights.pt"


def make_job(tmp: Path, shards, backbone: Path, head=HeadConfig(), **train) -> Job:
    y, uv, index = shards
    cfg = dict(
        batch_size=4,
        log_every=1,
        val_every=0,
        progress=False,
        device="cpu",
        bf16=False,  # float32 on the CPU, as the demo; the GPU numerics are asked for by name
        channels_last=False,
        loader_workers=0,
        checkpoint_every=500,
        epochs=1,
    )
    return Job(
        y=list(map(str, y)),
        uv=list(map(str, uv)),
        index=list(map(str, index)),
        backbone=str(backbone),
        backbone_description="random (seed 0)",
        model=str(tmp / "model.pt"),
        metrics=str(tmp / "metrics.tsv"),
        summary=str(tmp / "summary.json"),
        checkpoint_dir=str(tmp / "ckpt"),
        head=head,
        train=TrainConfig(**{**cfg, **train}),
        n_train_rows=10**9,
        log=str(tmp / "train.log"),
    )


def metrics_rows(path) -> list[list[str]]:
    return [r.split("\t") for r in Path(path).read_text().splitlines()[1:]]


def small_model(zero_output=False):
    from torchvision.models import vgg16

    torch.manual_seed(0)
    m = ColorizationNet(vgg16(weights=None).features, HeadConfig(a_channels=4, b_channels=2))
    if zero_output:  # UV = 127.5 everywhere: colorized = the input gray, Y preserved
        torch.nn.init.zeros_(m.head.out.weight)
        torch.nn.init.zeros_(m.head.out.bias)
    return m.eval()


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, small_model(), step=0, config={"image_size": SIZE})
    return path


def make_sun_tree(root: Path) -> Path:
    for cat in ("a/abbey", "b/bedroom", "a/apartment_building/outdoor"):
        for k in range(4):
            save_jpeg(root / cat / f"sun_{cat.replace('/', '_')}_{k}.jpg", 40, 50, seed=k)
    Image.fromarray(natural_rgb(40, 50)).convert("L").save(
        root / "a/abbey/sun_gray.jpg", format="JPEG"
    )
    (root / "b/bedroom/sun_broken.jpg").write_text("nope")
    Image.fromarray(natural_rgb(40, 50)).save(root / "b/bedroom/sun_png.jpg", format="PNG")
    return root


def write_inputs(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "small": save_jpeg(d / "small.jpg", 37, 53),
        "big": save_jpeg(d / "big.jpg", 2000, 3000),
    }
    Image.fromarray(natural_rgb(40, 60)).convert("L").save(d / "gray.png")
    rgba = Image.fromarray(natural_rgb(40, 60)).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.arange(60, dtype=np.uint8) * 4, (40, 1))))
    rgba.save(d / "rgba.png")
    Image.fromarray(np.linspace(0, 65535, 2400).reshape(40, 60).astype(np.uint16)).save(
        d / "sixteen.png"
    )
    Image.fromarray(natural_rgb(40, 60)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        d / "palette.png"
    )
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files.update({k: d / f"{k}.png" for k in ("gray", "rgba", "sixteen", "palette")})
    files["corrupt"] = d / "corrupt.jpg"
    return files


def make_manifest(tmp_path, n_good=7, bad_at=(3,)):
    root = tmp_path / "data"
    entries = []
    for k in range(n_good):
        save_jpeg(root / "c" / f"{k}.JPEG", 40 + 7 * k, 64, seed=k)
        entries.append(Entry(f"c/{k}.JPEG", "c", 0))
    (root / "c" / "bad.JPEG").write_bytes(b"\xff\xd8garbage")
    for i in bad_at:
        entries.insert(i, Entry("c/bad.JPEG", "c", 0))
    write_manifest(tmp_path / "manifest.tsv", entries, root)
    return root, entries


def random_net(head=HeadConfig()):
    from torchvision.models import vgg16

    torch.manual_seed(0)
    return ColorizationNet(vgg16(weights=None).features, head, "random")


def image_pair(h, w, seed=0):
    return natural_rgb(h, w, seed).astype(np.float64), natural_rgb(h, w, seed + 1).astype(float)


def rule_blocks():
    """``{rule: (text of its block, file)}`` from workflow/Snakefile and workflow/rules/*.smk."""
    blocks = {}
    workflow = ROOT / "workflow"
    for smk in [workflow / "Snakefile", *sorted((workflow / "rules").glob("*.smk"))]:
        parts = re.split(r"^rule (\w+):\n", smk.read_text(), flags=re.M)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            blocks[name] = (body, smk)
    return blocks


def steps_done(job: Job) -> int:
    files = list(Path(job.checkpoint_dir).glob("*/metrics.tsv"))
    rows = metrics_rows(files[0]) if files else []
    return int(rows[-1][0]) if rows else 0


def scores_table(n_images=30, seeds=(1, 2), variants=("paper", "mse"), rng_seed=0):
    """Every image scored by every run and baseline: paper ≈ gray + 0.02, mse ≈ gray."""
    rng = np.random.default_rng(rng_seed)
    gray = rng.uniform(0.7, 0.9, n_images)
    rows = []
    for i in range(n_images):
        common = {"image": f"c{i % 3}/img{i}.jpg", "category": f"c{i % 3}"}
        rows.append({"method": "gray", "variant": "", "seed": np.nan, "qssim": gray[i], **common})
        rows.append(
            {
                "method": "mean_chroma",
                "variant": "",
                "seed": np.nan,
                "qssim": gray[i] - 0.01,
                **common,
            }
        )
        for v in variants:
            for s in seeds:
                gain = 0.02 if v == "paper" else 0.0
                q = gray[i] + gain + rng.normal(0, 0.005)
                rows.append({"method": "model", "variant": v, "seed": s, "qssim": q, **common})
    return pd.DataFrame(rows)


@pytest.fixture
def scores():
    df = scores_table(n_images=12)
    rng = np.random.default_rng(0)
    from colorcnn.tables import SCORE_COLUMNS

    for m in SCORE_COLUMNS[SCORE_COLUMNS.index("ssim") :]:
        df[m] = rng.uniform(1, 40, len(df))
    df["width"], df["height"] = 40, 30
    return df
