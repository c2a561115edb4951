# Shared by the rules (every function of the rule files lives here, as `snakemake --lint`
# asks): the validated settings, paths, the study's runs, input functions, resources and the
# report's figures. Config is read one way: through S, the typed settings built below.

import ast
import hashlib
import inspect
import json
import os
import sys
from dataclasses import asdict
from math import ceil
from pathlib import Path

# --- the library ------------------------------------------------------------------------------
# This file and the rule scripts import colorcnn from the workflow's own source (src/ beside
# workflow/), wherever the workflow comes from: a checkout, a Snakemake module from a local
# path, or a module from git, whose files Snakemake's source cache fetches one by one.


def colorcnn_library():
    """The folder that holds this workflow's ``colorcnn`` package (and, for a workflow
    from git, a copy of the scripts' ``_bootstrap.py``, which the scripts then import
    from the search path Snakemake gives them)."""
    src = Path(str(workflow.current_basedir)).parents[1] / "src"
    if (src / "colorcnn" / "__init__.py").is_file():
        return src  # a folder on disk: the checkout, or a module from a path
    init = Path(workflow.source_path("../../src/colorcnn/__init__.py"))
    modules = next(
        ast.literal_eval(n.value)
        for n in ast.parse(init.read_text()).body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "MODULES"
    )
    sources = {f"colorcnn/{m}.py": f"../../src/colorcnn/{m}.py" for m in modules}
    sources["_bootstrap.py"] = "../scripts/_bootstrap.py"
    files = {"colorcnn/__init__.py": init.read_bytes()}
    for name, rel in sources.items():
        files[name] = Path(workflow.source_path(rel)).read_bytes()
    digest = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
    lib = Path(".snakemake", "colorcnn-library", digest[:16]).absolute()
    if not (lib / "colorcnn" / "__init__.py").exists():
        tmp = lib.with_name(f".tmp-{os.getpid()}-{digest[:16]}")
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        os.replace(tmp, lib)
    return lib


LIBRARY = colorcnn_library()
sys.path.insert(0, str(LIBRARY))
os.environ.update(
    COLORCNN_LIBRARY=str(LIBRARY)
)  # the rule scripts' _bootstrap reads it

from colorcnn.backbone import (
    BackbonePlan,
    imagenet_cache_path,
    plan_backbone,
)  # noqa: E402
from colorcnn.config import ConfigError, check_config_file, parse_config  # noqa: E402
from colorcnn.files import listing_digest  # noqa: E402
from colorcnn.layout import RUN_FOLDER, SHARD_KINDS, SHARD_NAME, shard_id  # noqa: E402
from colorcnn.provenance import library_digest  # noqa: E402
from colorcnn.tables import TEST_COLUMNS, read_tsv  # noqa: E402
from colorcnn.systems import BASELINES  # noqa: E402

# --- settings (every value checked here, before any job runs) -------------------------------

#: False inside a cluster job, where Snakemake re-reads this workflow to run one job. What
#: only makes sense where Snakemake was started is checked there alone: the dataset folders
#: and the torch cache may be absent or elsewhere on a compute node (and are not needed:
#: jobs that read a dataset get its files' paths).
MAIN = workflow.is_main_process
#: What the main process saw, for its cluster jobs (see `as_seen_by_main`), per configuration.
MAIN_VIEW = Path(
    ".snakemake",
    "colorcnn-main",
    hashlib.sha256(
        json.dumps(config, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    + ".json",
)


def as_seen_by_main(name, compute, fallback):
    """``compute()`` where Snakemake was started; in a cluster job, what it gave there.

    A cluster job re-reads the workflow and re-evaluates the params of the jobs upstream of
    its own that its inputs name through ``rules.<rule>.output``: a param that came out
    differently there would rerun them inside the job (a train job re-resolved the backbone).
    A value that cannot be computed alike on a compute node (a dataset folder's listing,
    which weights file this machine holds) is recorded under .snakemake/ (shared, as
    Snakemake's own metadata) and read back; ``fallback()`` where no record is found."""
    if MAIN:
        _SEEN[name] = value = compute()
        MAIN_VIEW.parent.mkdir(parents=True, exist_ok=True)
        tmp = MAIN_VIEW.with_name(f".tmp-{os.getpid()}-{MAIN_VIEW.name}")
        tmp.write_text(json.dumps(_SEEN, indent=1))
        os.replace(tmp, MAIN_VIEW)  # atomic: a job never reads half a file
        return value
    if not _SEEN and MAIN_VIEW.exists():
        _SEEN.update(json.loads(MAIN_VIEW.read_text()))
    return _SEEN[name] if name in _SEEN else fallback()


_SEEN = {}  # what as_seen_by_main computed (main process) or read back (a cluster job)


# a key given twice in a config file: YAML (and Snakemake) keep the last one silently
for _configfile in workflow.configfiles:
    check_config_file(_configfile)
S = parse_config(config, check_files=MAIN)
_plan = dict(
    weights=S.backbone_weights, download=S.download_weights, data_source=S.data.source
)
BACKBONE = BackbonePlan(
    **as_seen_by_main(
        "backbone",
        lambda: asdict(plan_backbone(**_plan)),
        lambda: asdict(plan_backbone(**_plan, check=False)),
    )
)
RES, LOGS, BENCH, REPORTS = (
    S.paths.results,
    S.paths.logs,
    S.paths.benchmarks,
    S.paths.reports,
)
RUN_DIR = f"{RES}/{RUN_FOLDER}"
VARIANTS = list(dict.fromkeys(r.variant for r in S.runs))
EXTERNAL = {e.name: e for e in S.external}
SEEDS = sorted({r.seed for r in S.runs})


wildcard_constraints:
    variant="|".join(VARIANTS),
    system="|".join(EXTERNAL) or "(?!)",
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


# --- the study's runs: params, threads and resources of the {variant}/{seed} jobs --------------


def run_of(wildcards):
    """The study's run (variant and seed) of a job."""
    return S.run(wildcards.variant, wildcards.seed)


def run_record(wildcards):
    """The variant and seed a job records in its outputs."""
    return {"variant": wildcards.variant, "seed": int(wildcards.seed)}


def run_threads(wildcards):
    """train.threads of the variant."""
    return run_of(wildcards).resources.threads


def run_gpus(wildcards):
    """train.gpus of the variant (0: the CPU)."""
    return run_of(wildcards).resources.gpus


def run_torch_env(wildcards):
    """The variant's torch env: the CUDA build where train.gpus > 0, else the CPU build."""
    return torch_env(run_gpus(wildcards))


def run_minutes(wildcards):
    """train.runtime_min of the variant: the job's wall time."""
    return run_of(wildcards).resources.runtime_min


def run_head(wildcards):
    """The variant's head configuration (model.*), as the train script receives it."""
    return asdict(run_of(wildcards).head)


def run_train(wildcards):
    """The variant's training settings (train.*, the seed included)."""
    return asdict(run_of(wildcards).train)


# --- inputs ------------------------------------------------------------------------------------


def demo_tree(name):
    """The demo rule's output when the demo is a source, otherwise nothing."""
    used = S.data.source == "demo" if name == "ilsvrc" else S.test.source == "demo"
    return rules.demo.output[name] if used else []


def training_root(wildcards, input):
    return input.demo if S.data.source == "demo" else S.data.root


def test_root(wildcards, input):
    return input.demo if S.test.source == "demo" else S.test.root


def dataset(name):
    """Which training (``ilsvrc``) or test (``sun``) dataset, and what is in it, as a
    plain-string param: ``demo`` (whose files are the rule's input), or the configured
    folder (absolute) with a digest of its listing (every file's name, size and time; the
    list file's too). Another data.root or test.root, or an image added, deleted or
    rewritten in it, then reruns the data stage or the test set (the function-valued
    ``root`` param alone is not recorded by Snakemake). A cluster job does not list the
    folder: it reads what the main process listed (`as_seen_by_main`)."""
    source, root, extra = (
        (S.data.source, S.data.root, [])
        if name == "ilsvrc"
        else (
            S.test.source,
            S.test.root,
            [S.test.list_file] if S.test.list_file else [],
        )
    )
    if source == "demo":
        return "demo"
    root = os.path.abspath(root)
    return as_seen_by_main(
        f"dataset {name}",
        lambda: f"{root} listing {listing_digest(root, *extra)}",
        lambda: root,
    )


def external_of(wildcards):
    return EXTERNAL[wildcards.system]


def external_outputs(wildcards):
    """The folder of an external system's outputs: the user's, a builtin's or a peer's (a
    rule's)."""
    return outputs_of(external_of(wildcards))


def outputs_of(e):
    if e.is_peer:
        return f"{RES}/peers/{e.name}/images"
    return f"{RES}/external/{e.name}/images" if e.builtin else e.path


def external_listing(wildcards):
    """What is in a user's folder of outputs (a param: another file there rescores it)."""
    e = external_of(wildcards)
    if e.is_peer:
        return f"peer {e.network} weights {e.weights}"
    if e.builtin:
        return e.builtin
    return as_seen_by_main(
        f"external {e.name}",
        lambda: f"{e.path} listing {listing_digest(e.path)}",
        lambda: e.path,
    )


def peer_weights(wildcards):
    """A peer's weights file (none for random weights): an input, verified by the rule."""
    e = external_of(wildcards)
    return [] if e.weights == "random" else [e.weights]


def external_folders():
    """Every external system's (and peer's) folder of outputs, in the study's order."""
    return [outputs_of(e) for e in S.external]


def peer_records():
    """Each peer's record of its weights (path, SHA-256, how verified), for the report."""
    return [f"{RES}/peers/{e.name}/weights.json" for e in S.external if e.is_peer]


def external_scores():
    """Every external system's scores."""
    return [f"{RES}/external/{name}/score/scores.tsv" for name in EXTERNAL]


# --- LPIPS and FID (score.perceptual) -----------------------------------------------------------

PERCEPTUAL = S.score.perceptual


def lpips_vgg_file():
    """The VGG-16 file LPIPS runs on: score.perceptual.lpips_vgg, where ``imagenet`` is the
    backbone's file in this machine's torch hub cache."""
    if PERCEPTUAL.lpips_vgg == "imagenet":
        return str(imagenet_cache_path())
    return PERCEPTUAL.lpips_vgg


if MAIN and PERCEPTUAL.lpips and not os.path.isfile(lpips_vgg_file()):
    raise ConfigError(
        f"score.perceptual.lpips_vgg is {PERCEPTUAL.lpips_vgg!r}: LPIPS needs torchvision's "
        f"VGG-16 file, and {lpips_vgg_file()} does not exist (put vgg16-397923af.pth there, "
        "or give a path)"
    )


def perceptual_files(name):
    """``name`` (scores.tsv, features.npz) of every system's perceptual job: each run of the
    model, each external system, the baselines (whose job holds the originals' features);
    none while LPIPS and FID are off."""
    if not PERCEPTUAL.enabled:
        return []
    external = [f"{RES}/external/{e}/perceptual/{name}" for e in EXTERNAL]
    return [
        *run_files(f"perceptual/{name}"),
        *external,
        f"{RES}/baselines/perceptual/{name}",
    ]


def perceptual_weights():
    """The LPIPS and FID weights files given (a new file rescores). torchvision's VGG-16 in
    the torch hub cache is not one, as for the backbone: its name fixes its content (the
    hash prefix is checked), and its path is this machine's."""
    files = [f for f in (PERCEPTUAL.lpips, PERCEPTUAL.fid) if f]
    if PERCEPTUAL.lpips and PERCEPTUAL.lpips_vgg != "imagenet":
        files.append(PERCEPTUAL.lpips_vgg)
    return files


def perceptual_params():
    """The params every perceptual job shares. ``lpips_vgg`` (the file) is a function, so that
    another torch hub folder reruns nothing; ``lpips_vgg_key`` records what it is."""
    return dict(
        lpips=PERCEPTUAL.lpips,
        lpips_vgg_key=PERCEPTUAL.lpips_vgg if PERCEPTUAL.lpips else "",
        lpips_vgg=lambda wc: lpips_vgg_file() if PERCEPTUAL.lpips else "",
        fid=PERCEPTUAL.fid,
        resolution=S.score.resolution,
        model_size=S.data.prepare.image_size,
        device="cuda" if PERCEPTUAL.gpus else "cpu",
    )


def perceptual_minutes(images_each):
    """Wall time of a perceptual job scoring ``images_each`` images per test image: VGG-16's
    taps of both images and Inception at 299x299, about 4 s per 1 MP image on 2 CPU cores
    (far less on a GPU)."""
    seconds = 0.2 if PERCEPTUAL.gpus else 4.0
    return lambda wc, threads: minutes(images_each * n_test_images(), seconds, threads)


def perceptual_mem_mb(wildcards, input, threads):
    """Host memory: the VGG-16 taps of two images at once (about 1.6 kB a pixel each, on the
    CPU path), sized by the largest test image once the test set exists."""
    largest = max_test_pixels(input.table)
    return 4096 + ceil(2 * 1600 * largest / 2**20)


def library_code(script):
    """A digest of the library code that the script ``script`` runs, as a param. Editing
    that code reruns the rule and what depends on it; editing other modules does not."""
    return library_digest(workflow.source_path(f"../scripts/{script}"), LIBRARY)


def backbone_source():
    """A weights file of the user's (model.backbone_weights: a path) as the backbone rule's
    input: a new file retrains. torchvision's ImageNet file is not an input: its name fixes
    its content (the published hash prefix is checked), and its path is this machine's.
    """
    return [BACKBONE.source] if BACKBONE.weights not in ("imagenet", "random") else []


# --- resources ----------------------------------------------------------------------------------


def torch_env(gpus):
    """The torch env of a job given ``gpus`` GPUs: envs/torch-cuda.yaml (a CUDA build, which
    needs a GPU machine's driver to create) only where GPUs are; envs/torch-cpu.yaml, which
    creates anywhere, for the rest."""
    return f"../../envs/torch-{'cuda' if gpus else 'cpu'}.yaml"


def grow(base):
    """A cluster request that grows with the try: ``base`` (a number, or a function of the
    wildcards, the input if it asks for it, and threads) times ``attempt``. A job killed for memory or wall time and
    resubmitted (the slurm profile's ``retries``) asks for twice as much, not the same again.
    """

    if not callable(base):
        return lambda wildcards, attempt: base * attempt
    if "input" in inspect.signature(base).parameters:
        return (
            lambda wildcards, input, threads, attempt: base(wildcards, input, threads)
            * attempt
        )
    return lambda wildcards, threads, attempt: base(wildcards, threads) * attempt


def minutes(n_items, seconds_each, threads=1, floor=10):
    """A wall-time request: ``floor`` minutes plus three times the expected work."""
    return floor + ceil(3 * n_items * seconds_each / max(1, threads) / 60)


def n_test_images():
    """An upper bound of the test set (SUN397 has 397 categories, ImageNet val 50,000
    images) for time estimates."""
    if S.test.source == "imagenet_val":
        return 5000 if S.test.protocol == "val5k" else 50000
    categories = 397 if S.test.source == "sun397" else 8
    return S.test.n_per_category * categories


def max_test_pixels(table):
    """The largest test image's pixels (0 while the test set does not exist yet)."""
    if not Path(table).exists():
        return 0
    _, rows = read_tsv(table, TEST_COLUMNS)
    return max((int(r["width"]) * int(r["height"]) for r in rows), default=0)


def train_mem_mb(wildcards, threads):
    """Host memory: each training process (one per GPU) holds torch (and CUDA's host side)
    and T with its gradients for its share of the batch on the CPU path; the loader workers
    share the job's threads."""
    run = run_of(wildcards)
    processes = max(1, run.resources.gpus)
    s = S.data.prepare.image_size
    per_image = s * s * run.head.t_channels * 4 * 4
    share = (run.train.batch_size // processes * per_image) // 2**20
    return 1024 + processes * (3072 + share) + 512 * threads


def score_mem_mb(wildcards, input, threads):
    """Each process holds one image pair's planes, about 110 bytes a pixel (1.2 GB at 12 MP;
    a 48 MP image took 5 GB): sized by the largest test image, once the test set exists.
    """
    largest = max_test_pixels(input.table)
    return 1024 + threads * max(1536, ceil(110 * largest / 2**20))


# --- the report (report.smk) ------------------------------------------------------------------

#: Every figure of the report, once: name -> category of the Snakemake report.
FIGURES = {
    "training_curves": "Training",
    "qssim_distribution": "Scores",
    "paired_deltas": "Claims",
    "model_vs_gray": "Scores",
    "seed_spread": "Scores",
    "category_qssim": "Scores",
    "qssim_vs_colourfulness": "Scores",
    "examples": "Examples",
}


def figure(name):
    """A figure of the report, with its caption, category and label."""
    return report(
        f"{REPORTS}/figures/{name}.png",
        caption=f"../report/{name}.rst",
        category=FIGURES[name],
        labels={"item": name.replace("_", " ")},
    )


def report_workflow_settings():
    """Workflow settings shown beside the results (the runs' summaries give the rest)."""
    demo = f" ({S.demo['dataset']})"
    settings = {
        "training source": S.data.source + (demo if S.data.source == "demo" else ""),
        "test source": S.test.source + (demo if S.test.source == "demo" else ""),
        "test protocol": S.test.protocol,
        "test images per category": S.test.n_per_category,
        "score resolution": S.score.resolution,
    }
    if S.test.source == "imagenet_val":
        del settings["test images per category"]
    # what each external system is; for a peer, its weights
    for e in S.external:
        if e.is_peer:
            random = "RANDOM weights (seed 0): not the published network"
            weights = random if e.weights == "random" else f"weights {e.weights}"
            settings[f"peer {e.name}"] = f"{e.network}, {weights}"
        else:
            source = f"builtin {e.builtin}" if e.builtin else e.path
            settings[f"external {e.name}"] = source
    return settings


def gallery_runs(output):
    """An output of every variant's first seed (the gallery shows one run per variant)."""
    return [output.format(variant=v, seed=SEEDS[0]) for v in VARIANTS]


def reference_run(output):
    """An output of the reference variant's first seed (the example figure shows one run)."""
    return output.format(variant=S.reference, seed=SEEDS[0])


# --- targets --------------------------------------------------------------------------------


def all_targets():
    """The data summary, the study's claims, and every figure and table of the report."""
    return [f"{RES}/data/rejected.tsv", f"{RES}/study/claims.tsv", *rules.reports.input]
