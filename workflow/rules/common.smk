# Helpers shared by the rules: paths, derived counts and cross-key config checks.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from colorcnn.shards import shard_count  # noqa: E402

DATA = config["data"]
DEMO_DIR = "results/demo"


def check_config():
    """Checks the schema cannot express; fail before any job runs, naming the key."""
    for section in ("data", "test"):
        c = config[section]
        if c["source"] != "demo" and not c["root"]:
            raise ValueError(
                f"config {section}.root is empty but {section}.source is {c['source']!r}: "
                f"set {section}.root to the dataset folder (or use {section}.source: demo)"
            )
    if MODEL_Q_CHANNELS() != 144:
        print(
            f"NOTE: model.a_channels + model.b_channels = {MODEL_Q_CHANNELS()}, "
            "not the paper's 144",
            file=sys.stderr,
        )


def MODEL_Q_CHANNELS():
    return config["model"]["a_channels"] + config["model"]["b_channels"]


check_config()


def training_root(wildcards, input):
    """Dataset root: the demo tree (an input of the rule) or the configured data.root."""
    return input.demo if DATA["source"] == "demo" else DATA["root"]


def sample_source():
    return "ilsvrc" if DATA["source"] == "demo" else DATA["source"]


def demo_input(name):
    """The demo rule's output when the demo is the source, otherwise nothing."""
    return rules.demo.output[name] if DATA["source"] == "demo" else []


N_SHARDS = shard_count(DATA["n_images"], DATA["shard_size"])
SHARD_IDS = [f"{k:05d}" for k in range(N_SHARDS)]


def shard_files(kind):
    return expand(
        "results/data/shards/shard-{shard}.{kind}", shard=SHARD_IDS, kind=kind
    )


TEST = config["test"]


def test_root(wildcards, input):
    """SUN397 root: the demo tree (an input of the rule) or the configured test.root."""
    return input.demo if TEST["source"] == "demo" else TEST["root"]


def test_demo_input():
    return rules.demo.output.sun if TEST["source"] == "demo" else []


def all_targets():
    return [
        "results/data/rejected.tsv",
        "results/train/model.pt",
        "results/score/summary.tsv",
        *REPORT_FILES,
    ]


MODEL = config["model"]
TRAIN = config["train"]
HEAD_KEYS = ("a_channels", "a_kernel", "b_channels", "b_kernel", "norm", "out_kernel")
# train.* keys that are job settings, not TrainConfig fields
TRAIN_JOB_KEYS = ("threads", "gpus", "runtime_min")


def head_params():
    return {k: MODEL[k] for k in HEAD_KEYS}


def train_params():
    return {k: v for k, v in TRAIN.items() if k not in TRAIN_JOB_KEYS}


def backbone_params():
    return {
        "weights": MODEL["backbone_weights"],
        "download": MODEL["download_weights"],
        "allow_random_fallback": MODEL["allow_random_fallback"],
    }


def train_mem_mb(wildcards, threads):
    """Host memory: T (451 channels, fp32) and its gradients for one batch on the CPU path."""
    s = DATA["image_size"]
    per_image = s * s * 451 * 4 * 4
    return 4096 + (TRAIN["batch_size"] * per_image) // 2**20


REPORT_FILES = [
    "reports/figures/training_curves.png",
    "reports/figures/qssim_distribution.png",
    "reports/figures/category_qssim.png",
    "reports/figures/qssim_vs_colourfulness.png",
    "reports/figures/examples.png",
    "reports/results.md",
    "reports/results.tsv",
]


def report_settings():
    """Settings recorded beside the results table (what a reader needs to interpret it)."""
    return {
        "training source": DATA["source"],
        "images requested": DATA["n_images"],
        "test source": TEST["source"],
        "test images per category": TEST["n_per_category"],
        "score resolution": config["score"]["resolution"],
        "Q split (a + b)": f"{MODEL['a_channels']} ({MODEL['a_kernel']}x{MODEL['a_kernel']}) + "
        f"{MODEL['b_channels']} ({MODEL['b_kernel']}x{MODEL['b_kernel']})",
        "loss": TRAIN["loss"],
        "lr / momentum / weight decay": f"{TRAIN['lr']} / {TRAIN['momentum']} / "
        f"{TRAIN['weight_decay']}",
    }
