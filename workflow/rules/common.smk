# Shared by the rules: the validated settings, paths, the study's runs, input functions and
# resources. Config is read one way: through S, the typed settings built below.

import sys
from dataclasses import asdict
from math import ceil
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from colorcnn.backbone import plan_backbone  # noqa: E402
from colorcnn.config import parse_config  # noqa: E402
from colorcnn.layout import SHARD_KINDS, SHARD_NAME, shard_id  # noqa: E402

# --- settings (every value checked here, before any job runs) -------------------------------

S = parse_config(config)
BACKBONE = plan_backbone(
    S.backbone_weights, download=S.download_weights, data_source=S.data.source
)
RES, LOGS, BENCH, REPORTS = (
    S.paths.results,
    S.paths.logs,
    S.paths.benchmarks,
    S.paths.reports,
)
RUN_DIR = f"{RES}/{{variant}}/seed{{seed}}"
VARIANTS = list(dict.fromkeys(r.variant for r in S.runs))
SEEDS = sorted({r.seed for r in S.runs})


wildcard_constraints:
    variant="|".join(VARIANTS),
    seed=r"\d+",
    shard=r"\d{5}",


# --- paths ------------------------------------------------------------------------------------


def shard_path(kind, shard="{shard}"):
    """A shard's file of one kind (Y, UV, index, rejected); by default with a wildcard."""
    return f"{RES}/data/shards/{SHARD_NAME.format(shard=shard, kind=SHARD_KINDS[kind])}"


def shard_files(kind):
    """Every shard's file of one kind, in shard order."""
    return [shard_path(kind, shard_id(k)) for k in range(S.data.n_shards)]


def run_files(pattern):
    """``pattern`` (relative to a run's folder) for every variant and seed of the study."""
    return [
        f"{RUN_DIR}/{pattern}".format(variant=r.variant, seed=r.seed) for r in S.runs
    ]


def run_of(wildcards):
    return S.run(wildcards.variant, wildcards.seed)


def demo_tree(name):
    """The demo rule's output when the demo is a source, otherwise nothing."""
    used = S.data.source == "demo" if name == "ilsvrc" else S.test.source == "demo"
    return rules.demo.output[name] if used else []


def training_root(wildcards, input):
    return input.demo if S.data.source == "demo" else S.data.root


def test_root(wildcards, input):
    return input.demo if S.test.source == "demo" else S.test.root


def backbone_source():
    """The weights file the backbone rule reads, as an input (a new file retrains)."""
    return [BACKBONE.source] if BACKBONE.source and not BACKBONE.download else []


# --- resources ----------------------------------------------------------------------------------


def minutes(n_items, seconds_each, threads=1, floor=10):
    """A wall-time request: ``floor`` minutes plus three times the expected work."""
    return floor + ceil(3 * n_items * seconds_each / max(1, threads) / 60)


def n_test_images():
    """An upper bound of the test set (SUN397 has 397 categories) for time estimates."""
    categories = 397 if S.test.source == "sun397" else 8
    return S.test.n_per_category * categories


def train_mem_mb(wildcards, threads):
    """Host memory: T and its gradients for one batch on the CPU path, and loader workers."""
    run = run_of(wildcards)
    s = S.data.prepare.image_size
    per_image = s * s * run.head.t_channels * 4 * 4
    return 4096 + (run.train.batch_size * per_image) // 2**20 + 512 * threads


# --- targets --------------------------------------------------------------------------------

REPORT_FIGURES = (
    "training_curves",
    "qssim_distribution",
    "paired_deltas",
    "model_vs_gray",
    "seed_spread",
    "category_qssim",
    "qssim_vs_colourfulness",
    "examples",
)


def figure(name, category):
    """A figure of the report, with its caption, category and label."""
    return report(
        f"{REPORTS}/figures/{name}.png",
        caption=f"../report/{name}.rst",
        category=category,
        labels={"item": name.replace("_", " ")},
    )


REPORT_FILES = [f"{REPORTS}/figures/{f}.png" for f in REPORT_FIGURES] + [
    f"{REPORTS}/results.{ext}" for ext in ("md", "tsv", "html")
]


def all_targets():
    return [f"{RES}/data/rejected.tsv", f"{RES}/study/claims.tsv", *REPORT_FILES]


def report_workflow_settings():
    """Workflow settings shown beside the results (the runs' summaries give the rest)."""
    demo = f" ({S.demo['dataset']})"
    return {
        "training source": S.data.source + (demo if S.data.source == "demo" else ""),
        "test source": S.test.source + (demo if S.test.source == "demo" else ""),
        "test images per category": S.test.n_per_category,
        "score resolution": S.score.resolution,
    }
