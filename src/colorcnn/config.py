"""Typed settings of every stage, validated in one place.

The workflow reads ``config.yaml`` (plus any ``--configfile``), checks its structure with the
JSON schema, and then builds :class:`Settings` with :func:`parse_config` while the DAG is built:
every bad value fails there, before any job runs, naming the key and what to do. Rule scripts
receive plain dicts through ``params:`` and rebuild the same dataclasses, so the library, the
CLI and the tests validate with the same code.

Defaults of the dataclasses are the paper-scale configuration (``config.yaml`` overridden by
``config/paper.yaml``); ``tests/test_config.py`` keeps the two equal. This module imports only
the standard library, so building the DAG stays fast.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields, replace

#: Layers whose outputs make up the hypercolumn T, in order, with their channel counts.
TAP_CHANNELS = {"input": 3, "conv1_2": 64, "conv2_2": 128, "conv3_3": 256}
#: Names that per-variant result folders (``results/<variant>/``) must not take.
RESERVED_NAMES = {"data", "test", "demo", "backbone", "baselines", "study", "logs", "reports"}
LOSSES = ("bce", "mse")
RESAMPLE_FILTERS = ("bilinear", "bicubic", "lanczos")


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key."""


def _require(ok: bool, key: str, value, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {expected}, got {value!r}")


def _one_of(key: str, value, allowed) -> None:
    _require(value in allowed, key, value, f"one of {list(allowed)}")


#: what a field's annotation admits (YAML 1.1 reads ``1e-3`` as a string, ``32.0`` is no int)
_TYPES = {
    "int": ((int,), "an integer"),
    "float": ((int, float), "a number"),
    "str": ((str,), "a string"),
    "bool": ((bool,), "true or false"),
}


def _check_types(cls, values: dict, key_of) -> None:
    """Each value of ``values`` has the type of ``cls``'s field of that name (a bool is not
    an integer); ``key_of(name)`` names the configuration key in the message."""
    for f in fields(cls):
        if f.name not in values or str(f.type) not in _TYPES:
            continue
        v = values[f.name]
        types, expected = _TYPES[str(f.type)]
        if not isinstance(v, types) or (isinstance(v, bool) and f.type != "bool"):
            raise ConfigError(
                f"{key_of(f.name)} must be {expected}, got {v!r} ({type(v).__name__})"
                + (": YAML reads 1e-3 as text, write 1.0e-3" if isinstance(v, str) else "")
            )


def _typed(cls, values: dict, section: str):
    """``cls(**values)`` after checking every value's type (keys ``section.<name>``)."""
    _check_types(cls, values, lambda name: f"{section}.{name}")
    return cls(**values)


def _path(value: str) -> str:
    """A path from the configuration: ``~`` expanded, trailing and doubled slashes dropped."""
    return os.path.normpath(os.path.expanduser(value)) if value else value


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeLimits:
    """Size limits applied to every decoded file (its own size, after EXIF rotation)."""

    min_side: int = 64
    max_pixels: int = 178_956_970

    def __post_init__(self):
        _require(self.min_side >= 1, "data.min_side", self.min_side, "a positive integer")
        _require(self.max_pixels >= 1, "data.max_pixels", self.max_pixels, "a positive integer")


@dataclass(frozen=True)
class PrepareOptions:
    """How a training image becomes Y and UV arrays.

    ``resize``: ``crop`` (shorter side to ``image_size``, centre square) or ``stretch``.
    ``min_chroma``: mean distance of UV from 128 (8-bit levels, after resizing) below which an
    image is rejected as near-grayscale. ``reduced_decode``: let the JPEG decoder skip detail
    that the resize discards.
    """

    image_size: int = 224
    resize: str = "crop"
    resample: str = "bilinear"
    min_side: int = 64
    max_pixels: int = 178_956_970
    min_chroma: float = 2.0
    reduced_decode: bool = True

    def __post_init__(self):
        s = self.image_size
        _require(s >= 16 and s % 4 == 0, "data.image_size", s, "a multiple of 4, at least 16")
        _one_of("data.resize", self.resize, ("crop", "stretch"))
        _one_of("data.resample", self.resample, RESAMPLE_FILTERS)
        _require(self.min_chroma >= 0, "data.min_chroma", self.min_chroma, ">= 0")
        self.limits  # noqa: B018 - validates min_side and max_pixels

    @property
    def limits(self) -> DecodeLimits:
        return DecodeLimits(self.min_side, self.max_pixels)


@dataclass(frozen=True)
class DataSettings:
    source: str
    root: str
    n_images: int
    n_val_images: int
    allow_fewer: bool
    seed: int
    shard_size: int
    threads: int
    prepare: PrepareOptions

    @property
    def n_sampled(self) -> int:
        """Manifest rows: the training images, then the held-out validation images."""
        return self.n_images + self.n_val_images

    @property
    def n_shards(self) -> int:
        return max(1, math.ceil(self.n_sampled / self.shard_size))


# --- model and training ---------------------------------------------------------------------


@dataclass(frozen=True)
class HeadConfig:
    """What T is made of, and stage 2 (the trained part); ``a_channels + b_channels`` is Q's
    width (the paper: 144)."""

    taps: tuple[str, ...] = tuple(TAP_CHANNELS)
    a_channels: int = 128
    a_kernel: int = 3
    b_channels: int = 16
    b_kernel: int = 1
    norm: str = "batch"
    out_kernel: int = 1

    def __post_init__(self):
        taps = tuple(self.taps)
        _require(
            bool(taps) and len(set(taps)) == len(taps) and set(taps) <= set(TAP_CHANNELS),
            "model.taps",
            list(taps),
            f"a non-empty list of distinct names from {list(TAP_CHANNELS)}",
        )
        object.__setattr__(self, "taps", tuple(t for t in TAP_CHANNELS if t in taps))
        for name in ("a_channels", "b_channels"):
            v = getattr(self, name)
            _require(v >= 1, f"model.{name}", v, ">= 1")
        for name in ("a_kernel", "b_kernel", "out_kernel"):
            k = getattr(self, name)
            _require(k >= 1 and k % 2 == 1, f"model.{name}", k, "an odd kernel size >= 1")
        _one_of("model.norm", self.norm, ("batch", "none"))

    @property
    def t_channels(self) -> int:
        return sum(TAP_CHANNELS[t] for t in self.taps)

    @property
    def q_channels(self) -> int:
        return self.a_channels + self.b_channels


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. Paper values: lr 8e-2, weight decay 8e-7, ×0.5 every 300 epochs.

    ``batch_size`` is the global batch (split evenly over DDP processes). ``lr_step_unit``
    says whether ``lr_step`` counts epochs (the paper's wording) or optimiser steps (Caffe's
    ``stepsize``). Fields up to ``seed`` determine the trajectory (they key the run id); the
    others may change on resume (more ``epochs`` extend a finished run).
    """

    batch_size: int = 32
    lr: float = 8e-2
    momentum: float = 0.9
    weight_decay: float = 8e-7
    lr_step: int = 300
    lr_step_unit: str = "epoch"
    lr_gamma: float = 0.5
    loss: str = "bce"
    seed: int = 2016
    # --- not part of the trajectory ---
    epochs: int = 5
    checkpoint_every: int = 2000
    log_every: int = 50
    val_every: int = 2000
    loader_workers: int = -1
    device: str = "auto"
    # numerics, on any device (the CPU too; the demo turns them off); they key the run with
    # the world size (provenance.run_key), so a changed one starts a new run
    bf16: bool = True
    channels_last: bool = True
    compile: bool = False
    progress: bool = True

    def __post_init__(self):
        positive = ("batch_size", "lr_step", "epochs", "checkpoint_every", "log_every")
        for name in positive:
            v = getattr(self, name)
            _require(v >= 1, f"train.{name}", v, "an integer >= 1")
        _require(self.lr > 0, "train.lr", self.lr, "> 0")
        _require(0 <= self.momentum < 1, "train.momentum", self.momentum, "in [0, 1)")
        _require(self.weight_decay >= 0, "train.weight_decay", self.weight_decay, ">= 0")
        _require(0 < self.lr_gamma <= 1, "train.lr_gamma", self.lr_gamma, "in (0, 1]")
        _require(self.val_every >= 0, "train.val_every", self.val_every, ">= 0 (0: off)")
        _require(self.loader_workers >= -1, "train.loader_workers", self.loader_workers, ">= -1")
        _one_of("train.lr_step_unit", self.lr_step_unit, ("epoch", "step"))
        _one_of("train.loss", self.loss, LOSSES)
        _one_of("train.device", self.device, ("auto", "cpu", "cuda"))

    def lr_at(self, step: int, steps_per_epoch: int) -> float:
        """Step decay: ×``lr_gamma`` every ``lr_step`` epochs (or optimiser steps)."""
        unit = steps_per_epoch if self.lr_step_unit == "epoch" else 1
        return self.lr * self.lr_gamma ** (step // (self.lr_step * unit))

    def workers_for(self, threads: int, processes: int = 1) -> int:
        """DataLoader workers of each of ``processes`` training processes sharing a job's
        ``threads`` CPUs: ``loader_workers``, or with -1 each process's share of the threads
        but one (left to drive its device)."""
        if self.loader_workers >= 0:
            return self.loader_workers
        return max(0, threads // processes - 1)

    def trajectory(self) -> dict:
        d = asdict(self)
        keep = list(d)[: list(d).index("seed") + 1]
        return {k: d[k] for k in keep}


@dataclass(frozen=True)
class JobResources:
    """What a training job asks the scheduler for."""

    threads: int = 10
    gpus: int = 1
    runtime_min: int = 1440


@dataclass(frozen=True)
class Run:
    """One training run of the study: a variant of the model and training, and a seed."""

    variant: str
    seed: int
    head: HeadConfig
    train: TrainConfig
    resources: JobResources
    claim: str = ""

    @property
    def name(self) -> str:
        return f"{self.variant}/seed{self.seed}"


# --- test, colorize, score, paths -----------------------------------------------------------


@dataclass(frozen=True)
class TestSettings:
    source: str
    root: str
    list_file: str
    n_per_category: int
    seed: int
    min_chroma: float
    threads: int
    protocol: str = "original"  # original | val5k | val50k (colorcnn.testset.PROTOCOLS)


@dataclass(frozen=True)
class ColorizeSettings:
    batch_size: int
    alpha: str
    png_compression: int
    gpus: int
    threads: int


@dataclass(frozen=True)
class DemoOptions:
    """The embedded demo datasets (``demo:`` in the configuration; the CLI's ``demo``)."""

    dataset: str = "photos"
    train_per_source: int = 45
    test_per_source: int = 4
    seed: int = 0


@dataclass(frozen=True)
class ColorizeOptions:
    """How images are colorized (``colorcnn colorize`` and the colorize rule): images per
    network batch, what happens to an alpha channel (``drop`` or ``keep``), the PNGs' zlib
    level. The defaults of :func:`colorcnn.colorize.colorize_files` and of the CLI."""

    batch_size: int = 8
    alpha: str = "drop"
    compression: int = 1

    def __post_init__(self):
        _require(self.batch_size >= 1, "colorize.batch_size", self.batch_size, ">= 1")
        _one_of("colorize.alpha", self.alpha, ("drop", "keep"))
        _require(0 <= self.compression <= 9, "colorize.png_compression", self.compression, "0-9")


@dataclass(frozen=True)
class PerceptualSettings:
    """LPIPS and FID (:mod:`colorcnn.perceptual`), each on when its weights file is given:
    ``lpips`` the lpips package's ``weights/v0.1/vgg.pth``, ``lpips_vgg`` torchvision's
    VGG-16 (``imagenet``: the backbone's file in the torch hub cache, or a path), ``fid``
    pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``."""

    lpips: str = ""
    lpips_vgg: str = "imagenet"
    fid: str = ""
    fid_n_boot: int = 200
    gpus: int = 0
    threads: int = 2

    @property
    def enabled(self) -> bool:
        return bool(self.lpips or self.fid)


@dataclass(frozen=True)
class ScoreSettings:
    resolution: str
    n_boot: int
    threads: int
    perceptual: PerceptualSettings = PerceptualSettings()


@dataclass(frozen=True)
class GallerySettings:
    thumb_size: int
    view_size: int
    per_page: int
    threads: int


@dataclass(frozen=True)
class Paths:
    results: str
    logs: str
    benchmarks: str
    reports: str


#: The external systems the workflow can write itself (for the demo): ``category_mean``
#: colours each test image with the mean chroma of the other test images of its category.
BUILTIN_EXTERNAL = ("category_mean",)
#: The published colorizers the workflow runs itself (``study.peers``; :mod:`colorcnn.peers`).
PEER_NETWORKS = ("eccv16", "siggraph17")


@dataclass(frozen=True)
class ExternalSystem:
    """Another method's outputs in the study (``study.external.<name>``): a folder of images,
    one per test image (``path``), or one the workflow writes (``builtin``); or a published
    colorizer the workflow runs (``study.peers.<name>``: its ``network`` and ``weights``)."""

    name: str
    path: str = ""
    builtin: str = ""
    claim: str = ""
    resize: bool = True
    network: str = ""
    weights: str = ""

    @property
    def is_peer(self) -> bool:
        return bool(self.network)


@dataclass(frozen=True)
class Settings:
    paths: Paths
    data: DataSettings
    demo: dict
    backbone_weights: str
    download_weights: bool
    runs: tuple[Run, ...]
    reference: str
    test: TestSettings
    colorize: ColorizeSettings
    score: ScoreSettings
    gallery: GallerySettings
    external: tuple[ExternalSystem, ...] = ()

    def run(self, variant: str, seed: int | str) -> Run:
        for r in self.runs:
            if r.variant == variant and r.seed == int(seed):
                return r
        raise KeyError(f"no run {variant}/seed{seed} in the study")


# --- parsing ----------------------------------------------------------------------------------


def _parse_perceptual(values: dict, check_files: bool) -> PerceptualSettings:
    """score.perceptual: each weights file (and LPIPS's VGG-16 where LPIPS is on and it is a
    path; the workflow checks the torch hub's) must exist (with ``check_files``); paths
    expanded."""
    p = _typed(PerceptualSettings, dict(values), "score.perceptual")
    p = replace(p, lpips=_path(p.lpips), fid=_path(p.fid))
    if p.lpips_vgg != "imagenet":
        p = replace(p, lpips_vgg=_path(p.lpips_vgg))
    _require(p.fid_n_boot >= 0, "score.perceptual.fid_n_boot", p.fid_n_boot, ">= 0")
    _require(p.gpus >= 0, "score.perceptual.gpus", p.gpus, ">= 0")
    _require(p.threads >= 1, "score.perceptual.threads", p.threads, ">= 1")
    if check_files:
        for key, path in (("lpips", p.lpips), ("fid", p.fid)):
            if path and not os.path.isfile(path):
                raise ConfigError(f"score.perceptual.{key} {path!r} does not exist (the weights"
                                  f" file; see the README's LPIPS and FID)")  # fmt: skip
        if p.lpips and p.lpips_vgg != "imagenet" and not os.path.isfile(p.lpips_vgg):
            raise ConfigError(f"score.perceptual.lpips_vgg {p.lpips_vgg!r} does not exist "
                              "(torchvision's VGG-16 file, for LPIPS)")  # fmt: skip
    return p


def check_config_file(path: str | os.PathLike) -> None:
    """A configuration file whose mappings repeat a key is an error naming the file and the
    key (YAML, and so Snakemake, silently keeps the last of the two)."""
    import yaml  # Snakemake's dependency: here while the DAG is built

    def walk(node, where: tuple) -> None:
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, where)
        if not isinstance(node, yaml.MappingNode):
            return
        seen: dict = {}
        for key, value in node.value:
            if key.value in seen:
                dotted = ".".join((*where, str(key.value)))
                raise ConfigError(
                    f"{path}: {dotted} is given twice (lines {seen[key.value] + 1} and "
                    f"{key.start_mark.line + 1}); YAML keeps the last one silently"
                )
            seen[key.value] = key.start_mark.line
            walk(value, (*where, str(key.value)))

    with open(path) as f:
        walk(yaml.compose(f, Loader=yaml.SafeLoader), ())


JOB_KEYS = tuple(f.name for f in fields(JobResources))
HEAD_KEYS = tuple(f.name for f in fields(HeadConfig))
#: train.* config keys that are TrainConfig fields (the seed comes from study.seeds).
TRAIN_KEYS = tuple(
    f.name for f in fields(TrainConfig) if f.name not in ("seed", "device", "progress")
)


def parse_config(config: dict, *, check_files: bool = True) -> Settings:
    """Validate a workflow configuration (already structure-checked by the schema).

    With ``check_files``, dataset folders and list files must exist. Raises
    :class:`ConfigError` naming the key.
    """
    d, t = config["data"], config["test"]
    prepare = _typed(PrepareOptions, {f.name: d[f.name] for f in fields(PrepareOptions)}, "data")
    data_keys = [f.name for f in fields(DataSettings) if f.name != "prepare"]
    _check_types(DataSettings, {k: d[k] for k in data_keys}, lambda k: f"data.{k}")
    data = DataSettings(**{k: d[k] for k in data_keys}, prepare=prepare)
    data = replace(data, root=_path(data.root))
    _one_of("data.source", data.source, ("demo", "ilsvrc", "folder"))
    _require(data.n_images >= 1, "data.n_images", data.n_images, ">= 1")
    _require(data.n_val_images >= 0, "data.n_val_images", data.n_val_images, ">= 0")
    _require(data.shard_size >= 1, "data.shard_size", data.shard_size, ">= 1")
    _one_of("demo.dataset", config["demo"]["dataset"], ("photos", "learnable"))
    test = _typed(TestSettings, t, "test")
    test = replace(test, root=_path(test.root), list_file=_path(test.list_file))
    _one_of("test.source", test.source, ("demo", "sun397", "imagenet_val"))
    _one_of("test.protocol", test.protocol, ("original", "val5k", "val50k"))
    _require(
        test.protocol == "original" or test.source == "imagenet_val",
        "test.protocol",
        test.protocol,
        "original for SUN397 and the demo (val5k and val50k are ImageNet val's)",
    )
    _require(test.n_per_category >= 1, "test.n_per_category", test.n_per_category, ">= 1")
    c = _typed(ColorizeSettings, config["colorize"], "colorize")
    ColorizeOptions(c.batch_size, c.alpha, c.png_compression)  # their checks, one place
    score = dict(config["score"])
    perceptual = _parse_perceptual(score.pop("perceptual", None) or {}, check_files)
    score = replace(_typed(ScoreSettings, score, "score"), perceptual=perceptual)
    _one_of("score.resolution", score.resolution, ("original", "model"))
    _require(score.n_boot >= 100, "score.n_boot", score.n_boot, ">= 100")
    gallery = _typed(GallerySettings, config["gallery"], "gallery")
    for section, value in (("data", data), ("test", test), ("colorize", c), ("score", score)):
        _require(value.threads >= 1, f"{section}.threads", value.threads, ">= 1")
    _require(gallery.thumb_size >= 16, "gallery.thumb_size", gallery.thumb_size, ">= 16")
    _require(gallery.view_size >= 0, "gallery.view_size", gallery.view_size, ">= 0")
    _require(gallery.per_page >= 1, "gallery.per_page", gallery.per_page, ">= 1")
    _require(gallery.threads >= 1, "gallery.threads", gallery.threads, ">= 1")
    runs, reference = _parse_study(config, data)
    external = _parse_external(config["study"].get("external") or {}, runs, check_files)
    external += _parse_peers(config["study"].get("peers") or {}, runs, external, check_files)
    paths = _typed(Paths, config["paths"], "paths")
    for key, value in asdict(paths).items():
        _require(bool(value), f"paths.{key}", value, "a folder")
    paths = Paths(**{k: _path(v) for k, v in asdict(paths).items()})
    if check_files:
        _check_files(data, test)
    return Settings(
        paths=paths,
        data=data,
        demo=dict(config["demo"]),
        backbone_weights=config["model"]["backbone_weights"],
        download_weights=config["model"]["download_weights"],
        runs=runs,
        reference=reference,
        test=test,
        colorize=c,
        score=score,
        gallery=gallery,
        external=external,
    )


def _check_system_name(key: str, name, taken: set) -> None:
    import re

    _require(
        re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", str(name)) is not None and name not in taken,
        key,
        name,
        "a name of letters, digits, '_' or '-', not a variant's, a baseline's or another system's",
    )


def _taken_names(runs, external=()) -> set:
    from .systems import BASELINES

    return {r.variant for r in runs} | set(BASELINES) | RESERVED_NAMES | {e.name for e in external}


def _parse_external(given: dict, runs, check_files: bool) -> tuple[ExternalSystem, ...]:
    taken = _taken_names(runs)
    out = []
    for name, over in given.items():
        key = f"study.external.{name}"
        _check_system_name(key, name, taken)
        unknown = set(over or {}) - {"path", "builtin", "claim", "resize"}
        _require(not unknown, key, sorted(unknown), "path or builtin, claim, resize")
        e = _typed(ExternalSystem, {"name": name, **(over or {})}, key)
        _require(bool(e.path) != bool(e.builtin), key, over, "exactly one of path and builtin")
        if e.builtin:
            _one_of(f"{key}.builtin", e.builtin, BUILTIN_EXTERNAL)
        else:
            e = replace(e, path=_path(e.path))
            if check_files:
                _existing_dir(f"{key}.path", e.path, f"a folder of {name}'s outputs")
        out.append(e)
    return tuple(out)


def _parse_peers(given: dict, runs, external, check_files: bool) -> tuple[ExternalSystem, ...]:
    """``study.peers.<name>: {network, weights, claim}``: a published colorizer (``network``,
    by default the name) from its weights file, or ``random`` weights (the demo's: then the
    name must say so, since its outputs are not the peer's)."""
    taken = _taken_names(runs, external)
    out = []
    for name, over in given.items():
        key = f"study.peers.{name}"
        _check_system_name(key, name, taken)
        over = dict(over or {})
        unknown = set(over) - {"network", "weights", "claim"}
        _require(not unknown, key, sorted(unknown), "network, weights, claim")
        e = _typed(ExternalSystem, {"name": name, "network": name, **over}, key)
        _one_of(f"{key}.network", e.network, PEER_NETWORKS)
        _require(bool(e.weights), f"{key}.weights", e.weights, "a weights file, or random")
        if e.weights == "random":
            says = "a name that says 'random' (its weights are random, not the peer's)"
            _require("random" in name.lower(), key, name, says)
        else:
            e = replace(e, weights=_path(e.weights))
            if check_files and not os.path.isfile(e.weights):
                raise ConfigError(f"{key}.weights: no file {e.weights} (the published "
                                  f"weights of {e.network}; see the README)")  # fmt: skip
        out.append(e)
    return tuple(out)


def _parse_study(config: dict, data: DataSettings) -> tuple[tuple[Run, ...], str]:
    import re  # here, not at the top: the CLI's --help imports this module

    study = config["study"]
    seeds = study["seeds"]
    _require(
        bool(seeds) and len(set(seeds)) == len(seeds) and min(seeds) >= 0,
        "study.seeds",
        seeds,
        "a non-empty list of distinct integers >= 0",
    )
    variants = study["variants"]
    _require(bool(variants), "study.variants", variants, "at least one variant")
    _require(
        study["reference"] in variants, "study.reference", study["reference"], "a variant name"
    )
    runs = []
    for name, over in variants.items():
        over = over or {}
        _require(
            re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name) is not None
            and name not in RESERVED_NAMES,
            f"study.variants.{name}",
            name,
            f"a name of letters, digits, '_' or '-' and not one of {sorted(RESERVED_NAMES)}",
        )
        unknown = set(over) - {"model", "train", "claim"}
        _require(not unknown, f"study.variants.{name}", sorted(unknown), "model, train or claim")
        model = _merged(config["model"], over.get("model"), f"study.variants.{name}.model")
        train = _merged(config["train"], over.get("train"), f"study.variants.{name}.train")
        for section, merged, cls in (
            ("model", model, HeadConfig),
            ("train", train, JobResources),
            ("train", train, TrainConfig),
        ):
            ours = over.get(section) or {}

            def key_of(k, section=section, ours=ours, name=name):
                return f"study.variants.{name}.{section}.{k}" if k in ours else f"{section}.{k}"

            _check_types(cls, merged, key_of)
        head = HeadConfig(**{k: model[k] for k in HEAD_KEYS})
        resources = JobResources(**{k: train[k] for k in JOB_KEYS})
        _require(resources.gpus >= 0, "train.gpus", resources.gpus, ">= 0")
        _require(resources.threads >= 1, "train.threads", resources.threads, ">= 1")
        for seed in seeds:
            cfg = TrainConfig(**{k: train[k] for k in TRAIN_KEYS}, seed=seed)
            _check_run(cfg, resources, data, name)
            runs.append(Run(name, seed, head, cfg, resources, str(over.get("claim", ""))))
    return tuple(runs), study["reference"]


def _merged(base: dict, over: dict | None, key: str) -> dict:
    unknown = set(over or {}) - set(base)
    _require(not unknown, key, sorted(unknown), f"keys of {key.rsplit('.', 1)[-1]}")
    return {**base, **(over or {})}


def _check_run(cfg: TrainConfig, res: JobResources, data: DataSettings, variant: str) -> None:
    where = f"train.batch_size (variant {variant})"
    _require(
        cfg.batch_size <= data.n_images,
        where,
        cfg.batch_size,
        f"at most data.n_images ({data.n_images}): a step needs a whole batch",
    )
    if res.gpus > 1:
        _require(cfg.batch_size % res.gpus == 0, where, cfg.batch_size, "divisible by train.gpus")
    if cfg.val_every and not data.n_val_images:
        raise ConfigError(
            f"train.val_every is {cfg.val_every} but data.n_val_images is 0: hold out some "
            "images for the validation curve, or set train.val_every: 0"
        )


def _check_files(data: DataSettings, test: TestSettings) -> None:
    if data.source != "demo":
        _existing_dir("data.root", data.root, f"the {data.source} dataset folder")
    if test.source != "demo":
        what = {"sun397": "the SUN397 folder (a/abbey/...)",
                "imagenet_val": "ILSVRC2012_img_val (ILSVRC2012_val_*.JPEG)"}  # fmt: skip
        _existing_dir("test.root", test.root, what[test.source])
        if test.list_file and not os.path.isfile(test.list_file):
            raise ConfigError(
                f"test.list_file {test.list_file!r} does not exist: give an official partition "
                "file (e.g. Partitions/Testing_01.txt) or a list of file names (e.g. "
                "ctest10k's), or leave it empty for every image"
            )


def _existing_dir(key: str, value: str, what: str) -> None:
    if not value:
        raise ConfigError(f"{key} is empty: set it to {what}")
    if not os.path.isdir(value):
        problem = "is not a folder" if os.path.exists(value) else "does not exist"
        raise ConfigError(f"{key} {value!r} {problem}: set it to {what}")
