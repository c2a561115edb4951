"""The frozen backbone's weights: planned while the DAG is built, resolved by a local rule.

``model.backbone_weights`` is ``imagenet`` (torchvision's ImageNet weights, from the torch hub
cache), ``random`` (He initialisation under seed 0, see :func:`random_prefix`), or a path to
a ``.pth`` state dict of a torchvision VGG-16. :func:`plan_backbone` decides, without
importing torch and without touching the network, where the weights will come from, and fails
at once (naming the key and the file it looked for) when they cannot be had. The ``backbone``
rule, which runs on the machine Snakemake runs on (where there is internet, if anywhere), then
:func:`resolve_backbone`: downloads if asked, verifies the file (torchvision's published hash
prefix; a VGG-16's layer shapes), and writes the part the network uses (``features[:16]``,
7 MB) with a JSON record of where it came from. Training takes that file as an input, so new
weights retrain, and records its SHA-256 in the run id.

Only the demo may fall back to a random backbone when ImageNet weights are unavailable, and
it says so in the record, the training log, the metrics and the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import ConfigError
from .files import atomic_path

log = logging.getLogger(__name__)

#: torchvision's ImageNet VGG-16 weights (``VGG16_Weights.IMAGENET1K_V1``): the file's name
#: carries the first hex digits of its SHA-256, which torchvision checks on download.
VGG16_IMAGENET_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
VGG16_IMAGENET_FILE = "vgg16-397923af.pth"
VGG16_HASH_PREFIX = "397923af"
#: ``vgg16().features`` index → (out, in) channels of its 13 convolutions.
VGG16_CONVS = {0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128), 10: (256, 128)}
VGG16_CONVS |= {12: (256, 256), 14: (256, 256), 17: (512, 256), 19: (512, 512)}
VGG16_CONVS |= {21: (512, 512), 24: (512, 512), 26: (512, 512), 28: (512, 512)}
PREFIX_LAYERS = 16  # features[:16]: everything before the third max pooling
#: the convolutions before pool3: the backbone's
PREFIX_CONVS = {i: c for i, c in VGG16_CONVS.items() if i < PREFIX_LAYERS}
RANDOM_SEED = 0


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()`` without importing torch: ``$TORCH_HOME/hub``, where
    ``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch`` and that to ``~/.cache/torch``."""
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))) / "hub"


def imagenet_cache_path() -> Path:
    """Where torchvision keeps (and this workflow looks for) the ImageNet VGG-16 file."""
    return torch_hub_dir() / "checkpoints" / VGG16_IMAGENET_FILE


@dataclass(frozen=True)
class BackbonePlan:
    """Where the weights will come from: ``source`` (a file, or ``""`` for random weights),
    whether to ``download`` it first, and ``fallback`` (why the demo uses random weights)."""

    weights: str
    source: str
    download: bool = False
    fallback: str = ""

    @property
    def key(self) -> dict:
        """What the weights are, not where this machine keeps them: the rule's params (a
        different ``$TORCH_HOME`` or home folder must not rerun the study)."""
        return {"weights": self.weights, "random": not self.source}

    @property
    def description(self) -> str:
        if self.fallback:
            return "random (fallback: ImageNet weights unavailable)"
        if self.weights in ("imagenet", "random"):
            return self.weights
        return f"file:{self.weights}"


def plan_backbone(
    weights: str, *, download: bool, data_source: str, check: bool = True
) -> BackbonePlan:
    """Decide where the backbone comes from; raise :class:`ConfigError` when it cannot.
    Without ``check`` (a cluster job, which never runs the local backbone rule) nothing on
    this machine is looked at."""
    if weights == "random":
        return BackbonePlan(weights, "")
    if not check:
        path = imagenet_cache_path() if weights == "imagenet" else Path(weights)
        return BackbonePlan(weights, str(path))
    if weights != "imagenet":
        if not Path(weights).is_file():
            raise ConfigError(
                f"model.backbone_weights is {weights!r}, which is neither 'imagenet', 'random' "
                "nor an existing file: give the path of a torchvision VGG-16 .pth state dict"
            )
        return BackbonePlan(weights, str(Path(weights)))
    path = imagenet_cache_path()
    if path.is_file() or download:
        return BackbonePlan(weights, str(path), download=not path.is_file())
    message = _imagenet_message(path)
    if data_source != "demo":
        raise ConfigError(message)
    return BackbonePlan(weights, "", fallback=message)


def _imagenet_message(path: Path, problem: str = "") -> str:
    problem = problem or f"model.backbone_weights is 'imagenet' but {path} does not exist"
    return (
        f"{problem}. Put torchvision's "
        f"file {VGG16_IMAGENET_FILE} (from {VGG16_IMAGENET_URL}) there (or point TORCH_HOME "
        "at a folder with hub/checkpoints/ holding it), or set model.download_weights: true "
        "to download it in the local 'backbone' rule, or set model.backbone_weights to a "
        "local .pth file of a torchvision VGG-16. Only the demo falls back to random weights; "
        "elsewhere say model.backbone_weights: random explicitly."
    )


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def resolve_backbone(plan: BackbonePlan, out: str | Path, record: str | Path) -> dict:
    """Write the backbone prefix (``features[:16]`` state dict) to ``out`` and a JSON
    ``record`` of its origin. Downloads only here, only when the plan says so."""
    import torch

    info = {**asdict(plan), "description": plan.description}
    if plan.fallback:
        log.warning("!" * 78)
        log.warning("RANDOM BACKBONE (demo fallback): %s", plan.fallback)
        log.warning("Results are NOT comparable to the paper's, which uses ImageNet weights.")
        log.warning("!" * 78)
    if not plan.source:
        state = random_prefix(RANDOM_SEED)
        info["seed"] = RANDOM_SEED
    else:
        src = Path(plan.source)
        if plan.download:
            _download_imagenet(src)
        digest = sha256_file(src)
        if plan.weights == "imagenet" and not digest.startswith(VGG16_HASH_PREFIX):
            raise ValueError(
                f"{src}: SHA-256 {digest[:16]}... does not start with torchvision's published "
                f"prefix {VGG16_HASH_PREFIX}: the file is damaged or not torchvision's VGG-16. "
                "Delete it and provide the original."
            )
        state = vgg16_prefix(torch.load(src, map_location="cpu", weights_only=True), src)
        info["source_sha256"] = digest
    # through a file object: saved to a path, torch embeds the (temporary) file name in the
    # archive, and the same weights would get another SHA-256, hence another run id
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
    info["sha256"] = sha256_file(out)
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(info, indent=1))
    log.info("backbone %s -> %s (sha256 %s)", info["description"], out, info["sha256"][:16])
    return info


def _download_imagenet(dest: Path) -> None:
    import torch

    dest.parent.mkdir(parents=True, exist_ok=True)  # torch.hub does not create it
    log.info("downloading %s to %s", VGG16_IMAGENET_URL, dest)
    try:
        torch.hub.download_url_to_file(
            VGG16_IMAGENET_URL, str(dest), hash_prefix=VGG16_HASH_PREFIX, progress=False
        )
    except Exception as e:
        dest.unlink(missing_ok=True)
        raise RuntimeError(_imagenet_message(dest, f"downloading {dest.name} failed ({e})")) from e


def vgg16_prefix_layers(n_layers: int = PREFIX_LAYERS):
    """``torchvision.models.vgg16().features[:n_layers]`` (the backbone's 16 by default),
    built without torchvision: the same modules and state-dict keys (3x3 convolutions with
    padding 1, in-place ReLUs, 2x2 max pooling), and none of the rest of VGG-16 (its 138M
    parameters take seconds to initialise). The weights are PyTorch's default
    initialisation; load a state dict."""
    from torch import nn

    layers, last = [], 0
    for i in range(n_layers):
        if i in VGG16_CONVS:
            cout, cin = VGG16_CONVS[i]
            layers.append(nn.Conv2d(cin, cout, kernel_size=3, padding=1))
            last = i
        elif i == last + 1:
            layers.append(nn.ReLU(inplace=True))
        else:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def random_prefix(seed: int) -> dict:
    """A random ``vgg16().features[:16]`` under ``seed``: He (fan-in) normal weights, zero
    biases, so that activations keep their scale from layer to layer. (torchvision's fan-out
    initialisation shrinks them about tenfold by conv3_3, which starves the head's weights on
    those channels of gradient.)"""
    import torch
    from torchvision.models import vgg16

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        features = vgg16(weights=None).features[:PREFIX_LAYERS]
        for m in features:
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                torch.nn.init.zeros_(m.bias)
        return features.state_dict()


def vgg16_prefix(state, source) -> dict:
    """The ``features[:16]`` part of a VGG-16 state dict (a full model's, keys
    ``features.N.weight``, or just the features'), checked layer by layer."""
    if not isinstance(state, dict):
        raise ValueError(f"{source} is not a VGG-16 state dict (it holds a {type(state)})")
    state = {k.removeprefix("features."): v for k, v in state.items()}
    out, problems = {}, []
    for i, (cout, cin) in PREFIX_CONVS.items():
        for part, shape in (("weight", (cout, cin, 3, 3)), ("bias", (cout,))):
            v = state.get(f"{i}.{part}")
            if v is None or tuple(v.shape) != shape:
                got = "missing" if v is None else tuple(v.shape)
                problems.append(f"features.{i}.{part}: {got}, expected {shape}")
            else:
                out[f"{i}.{part}"] = v.float().contiguous()
    if problems:
        raise ValueError(f"{source} is not a VGG-16 state dict: " + "; ".join(problems[:3]))
    return out


def load_backbone(path: str | Path):
    """The frozen VGG-16 prefix from a resolved weights file: ``(features, sha256)``."""
    import torch
    from torchvision.models import vgg16

    # torchvision's whole VGG-16, not vgg16_prefix_layers(): training seeds the RNG before
    # this and initialises its head after, so the random numbers drawn here are part of
    # every run's trajectory (the lighter builder is for inference: checkpoint loading)
    features = vgg16(weights=None).features[:PREFIX_LAYERS]
    state = torch.load(path, map_location="cpu", weights_only=True)
    features.load_state_dict(vgg16_prefix(state, path))
    return features, sha256_file(path)


def read_record(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
