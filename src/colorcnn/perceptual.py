"""LPIPS and FID, the learned metrics the colorization literature reports beside PSNR and SSIM
(CT2, DDColor, ColorFormer), restated here and run on the same images the other metrics see.

**LPIPS** (Zhang et al., CVPR 2018), as the ``lpips`` package's ``LPIPS(net="vgg")``, v0.1,
computes it (CT2's choice of network): both images mapped from [0, 1] to [-1, 1], shifted and
scaled by the package's ``ScalingLayer`` (shift ``(-.030, -.088, -.188)``, scale ``(.458,
.448, .450)``), through torchvision's VGG-16 ``features`` to relu1_2, relu2_2, relu3_3,
relu4_3 and relu5_3; each tap unit-normalised over channels (``x / (||x|| + 1e-10)``), the
squared difference weighted per channel by the package's linear layers (``lin0`` .. ``lin4``,
1x1 convolutions without bias), averaged over space and summed over the five layers. Lower is
closer. The weights are two files: torchvision's ImageNet VGG-16 (``vgg16-397923af.pth``, the
backbone's file) and the package's ``lpips/weights/v0.1/vgg.pth``.

**FID** (Heusel et al., 2017), as ``pytorch-fid`` computes it (DDColor's and CT2's tool):
each image resized to 299x299 (bilinear, ``align_corners=False``, no antialiasing), mapped to
[-1, 1], through the TensorFlow FID InceptionV3 (torchvision's Inception v3 with pytorch-fid's
four patches: average pools that leave the padding out of the mean in the A, C and first E
blocks, a max pool in the last E block) to its 2,048 pool features; the Fréchet distance
between Gaussians fitted to a system's features and the originals' (sample covariances,
``ddof = 1``). The weights: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``. FID is a
set metric: its interval is a bootstrap over images (the same images drawn for the system
and the originals), its quantiles moved by the resamples' bias (drawing with replacement
repeats images, which raises FID: a plain percentile interval can lie above the value), and
it depends on the number of images (it is biased upwards for
small sets), so only FIDs over the same test set compare.

``tr sqrt(Σa Σb)`` is computed as the nuclear norm of ``Ra^T Rb`` for any factors ``Σ = R
R^T`` (the centred features when there are fewer images than features, symmetric square roots
otherwise): exact, symmetric and without the complex parts ``scipy.linalg.sqrtm`` can return.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import statedicts
from .backbone import VGG16_CONVS, VGG16_IMAGENET_FILE, vgg16_prefix_layers

log = logging.getLogger(__name__)

LPIPS_LIN_FILE = "vgg.pth"
LPIPS_LIN_URL = (
    "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth"
)
FID_INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_INCEPTION_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_INCEPTION_FILE
)
#: ``vgg16().features`` indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
LPIPS_TAPS = (3, 8, 15, 22, 29)
LPIPS_CHANNELS = (64, 128, 256, 512, 512)
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
FID_SIZE = 299
FID_FEATURES = 2048
LEVEL = 0.95


# --- LPIPS -------------------------------------------------------------------------------------


class LPIPS(nn.Module):
    """LPIPS v0.1 with VGG-16 (see the module); load :func:`lpips_shapes`' state dict."""

    def __init__(self):
        super().__init__()
        self.features = vgg16_prefix_layers(LPIPS_TAPS[-1] + 1)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in LPIPS_CHANNELS)
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1))

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised VGG taps of ``x`` (N, 3, H, W) in [0, 1]."""
        x = (2 * x - 1 - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in LPIPS_TAPS:
                out.append(x / (torch.sqrt((x * x).sum(1, keepdim=True)) + 1e-10))
        return out

    def distances(self, ref: torch.Tensor, tests: torch.Tensor) -> torch.Tensor:
        """LPIPS of each of ``tests`` (K, 3, H, W) to ``ref`` (1, 3, H, W): shape (K,). The
        reference's taps are computed once; the tests go one at a time (a 12 MP image's taps
        take about 19 GB in float32)."""
        h_ref = self.taps(ref)
        out = []
        for k in range(len(tests)):
            total = 0
            for f, g, lin in zip(self.taps(tests[k : k + 1]), h_ref, self.lins, strict=True):
                total = total + lin((f - g) ** 2).mean((2, 3))
            out.append(total[:, 0])
        return torch.cat(out)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """LPIPS of pairs ``x[i]``, ``y[i]`` (N, 3, H, W) in [0, 1]: shape (N,)."""
        hx, hy = self.taps(x), self.taps(y)
        total = 0
        for fx, fy, lin in zip(hx, hy, self.lins, strict=True):
            total = total + lin((fx - fy) ** 2).mean((2, 3))
        return total[:, 0]


def vgg_shapes() -> dict[str, tuple[int, ...]]:
    """The keys and shapes LPIPS uses of torchvision's VGG-16 file (``features.*``)."""
    out = {}
    for i, (cout, cin) in VGG16_CONVS.items():
        out[f"features.{i}.weight"] = (cout, cin, 3, 3)
        out[f"features.{i}.bias"] = (cout,)
    return out


def lin_shapes() -> dict[str, tuple[int, ...]]:
    """The keys and shapes of the lpips package's ``weights/v0.1/vgg.pth``."""
    return {f"lin{k}.model.1.weight": (1, c, 1, 1) for k, c in enumerate(LPIPS_CHANNELS)}


def load_lpips(lin: str, vgg: str) -> tuple[LPIPS, dict]:
    """LPIPS in eval mode from the lpips package's linear weights ``lin`` and a torchvision
    VGG-16 file ``vgg`` (its ``classifier`` is not used), both verified; and their records."""
    vgg_state, vgg_record = statedicts.read_verified(
        vgg, vgg_shapes(), f"torchvision's VGG-16 ({VGG16_IMAGENET_FILE})",
        published=VGG16_IMAGENET_FILE, ignore=("classifier.",),
    )  # fmt: skip
    lin_state, lin_record = statedicts.read_verified(
        lin, lin_shapes(), f"LPIPS v0.1's VGG linear layers ({LPIPS_LIN_URL})"
    )
    net = LPIPS()
    net.features.load_state_dict({k.removeprefix("features."): v for k, v in vgg_state.items()})
    net.lins.load_state_dict({f"{k[3]}.weight": v for k, v in lin_state.items()})
    return net.eval().requires_grad_(False), {"lpips_vgg": vgg_record, "lpips_lin": lin_record}


# --- FID's InceptionV3 -------------------------------------------------------------------------


def _inception_blocks():
    from torchvision.models import inception as tv

    class FIDInceptionA(tv.InceptionA):
        def forward(self, x):
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
            return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(pool)], 1)

    class FIDInceptionC(tv.InceptionC):
        def forward(self, x):
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for conv in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                         self.branch7x7dbl_4, self.branch7x7dbl_5):  # fmt: skip
                d = conv(d)
            pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
            return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(pool)], 1)

    class FIDInceptionE(tv.InceptionE):
        def __init__(self, in_channels, max_pool: bool):
            super().__init__(in_channels)
            self.max_pool = max_pool

        def forward(self, x):
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            if self.max_pool:  # pytorch-fid's patch of the last block: a max pool
                pool = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
            else:
                pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
            return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)

    return tv.Inception3, FIDInceptionA, FIDInceptionC, FIDInceptionE


def fid_inception() -> nn.Module:
    """pytorch-fid's FID InceptionV3 (``fid_inception_v3()``), untrained: torchvision's
    Inception v3 (1,008 classes, no auxiliary head) with its patched blocks."""
    inception3, block_a, block_c, block_e = _inception_blocks()
    net = inception3(num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b = block_a(192, pool_features=32)
    net.Mixed_5c = block_a(256, pool_features=64)
    net.Mixed_5d = block_a(288, pool_features=64)
    net.Mixed_6b = block_c(768, channels_7x7=128)
    net.Mixed_6c = block_c(768, channels_7x7=160)
    net.Mixed_6d = block_c(768, channels_7x7=160)
    net.Mixed_6e = block_c(768, channels_7x7=192)
    net.Mixed_7b = block_e(1280, max_pool=False)
    net.Mixed_7c = block_e(2048, max_pool=True)
    return net


def inception_shapes() -> dict[str, tuple[int, ...]]:
    """The keys and shapes of ``pt_inception-2015-12-05-6726825d.pth``."""
    import torchvision.models.inception  # noqa: F401 - imported outside the meta device

    with torch.device("meta"):
        net = fid_inception()
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def load_inception(weights: str) -> tuple[nn.Module, dict]:
    """The FID InceptionV3 in eval mode from a verified ``weights`` file, and its record."""
    state, record = statedicts.read_verified(
        weights, inception_shapes(), f"pytorch-fid's FID InceptionV3 ({FID_INCEPTION_FILE})",
        published=FID_INCEPTION_FILE,
    )  # fmt: skip
    net = fid_inception()
    net.load_state_dict(state, strict=True)
    return net.eval().requires_grad_(False), {"fid_inception": record}


def inception_features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The 2,048 pool features of ``x`` (N, 3, H, W) in [0, 1], as pytorch-fid's
    ``InceptionV3`` (block 3) computes them."""
    x = F.interpolate(x, size=(FID_SIZE, FID_SIZE), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    x = net.Conv2d_2b_3x3(net.Conv2d_2a_3x3(net.Conv2d_1a_3x3(x)))
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    x = net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(x))
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
        x = getattr(net, f"Mixed_{name}")(x)
    return x.mean((2, 3))


# --- the Fréchet distance ------------------------------------------------------------------------


def _psd_sqrt(cov: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(cov)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to features ``a`` (n, d) and ``b``
    (m, d): ``|μa − μb|² + tr Σa + tr Σb − 2 tr sqrt(Σa Σb)``, sample covariances."""
    a, b = a.double(), b.double()
    na, nb, d = len(a), len(b), a.shape[1]
    if na < 2 or nb < 2:
        return math.nan
    ac, bc = a - a.mean(0), b - b.mean(0)
    mu = a.mean(0) - b.mean(0)
    trace = (ac * ac).sum() / (na - 1) + (bc * bc).sum() / (nb - 1)
    if min(na, nb) <= d:  # Σ = R R^T with R = centred^T / sqrt(n - 1)
        cross = torch.linalg.svdvals(ac @ bc.T).sum() / math.sqrt((na - 1) * (nb - 1))
    else:
        ra, rb = _psd_sqrt(ac.T @ ac / (na - 1)), _psd_sqrt(bc.T @ bc / (nb - 1))
        cross = torch.linalg.svdvals(ra @ rb).sum()
    return float(mu @ mu + trace - 2 * cross)


def fid_with_interval(
    systems: list[np.ndarray], truth: np.ndarray, n_boot: int, seed: int = 0, device="cpu"
) -> dict:
    """FID of a system against the originals' features ``truth`` (n, d), with a
    bias-corrected bootstrap 95% interval over images: the 2.5% and 97.5% quantiles of the
    resampled FIDs minus their bias (their mean minus the value), the lower end at least 0.
    ``systems`` holds one feature array per seed of the system (rows in ``truth``'s order);
    a system with several seeds gets their mean FID, and each resample draws the same images
    for every seed and the originals."""
    t = torch.as_tensor(truth, device=device).double()
    s = [torch.as_tensor(x, device=device).double() for x in systems]
    n = len(t)
    value = float(np.mean([frechet_distance(x, t) for x in s]))
    lo = hi = math.nan
    if n >= 2 and n_boot > 0:
        rng = np.random.default_rng(seed)
        boots = []
        for _ in range(n_boot):
            i = torch.as_tensor(rng.integers(0, n, n), device=device)
            boots.append(np.mean([frechet_distance(x[i], t[i]) for x in s]))
        # drawing with replacement repeats images, which raises FID by more than its spread
        # (both a percentile and a basic interval were seen to miss the value): the
        # resampled FIDs' 2.5% and 97.5% quantiles, moved by their bias (mean − value)
        a = (1 - LEVEL) / 2
        bias = float(np.mean(boots)) - value
        q_lo, q_hi = np.quantile(boots, [a, 1 - a])
        lo, hi = max(0.0, float(q_lo - bias)), float(q_hi - bias)
    return {"fid": value, "fid_lo": lo, "fid_hi": hi, "n": n, "seeds": len(s), "n_boot": n_boot}


# --- scoring the study's systems ---------------------------------------------------------------


@dataclass
class Nets:
    """The networks a perceptual job runs (``None``: that metric is off) and their records."""

    lpips: LPIPS | None = None
    inception: nn.Module | None = None
    device: str = "cpu"
    records: dict | None = None


def load_nets(lpips: str = "", lpips_vgg: str = "", fid: str = "", device: str = "cpu") -> Nets:
    """The networks of the metrics whose weights are given (``""``: off), on ``device``."""
    records = {}
    net_lpips = net_fid = None
    if lpips:
        net_lpips, r = load_lpips(lpips, lpips_vgg)
        net_lpips, records = net_lpips.to(device), records | r
    if fid:
        net_fid, r = load_inception(fid)
        net_fid, records = net_fid.to(device), records | r
    if device.startswith("cuda"):  # the metrics in float32, as their packages compute them
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return Nets(net_lpips, net_fid, device, records)


def feature_key(method: str, variant, seed) -> str:
    """How a system's features are named in a features file."""
    return f"{method}|{variant}|{seed}"


TRUTH = "truth"


def score_perceptual(jobs, nets: Nets, *, truth: bool = False, progress: bool = True):
    """LPIPS of every candidate of every job (:class:`colorcnn.scoring.ScoreJob`: the model's
    output, an external system's, baselines) against its original, and the Inception
    features of each candidate (and, with ``truth``, of the originals). Returns the LPIPS
    rows (``method``, ``variant``, ``seed``, ``image``, ``lpips``; none when LPIPS is off),
    ``{feature_key: (n, 2048) float32}`` (empty when FID is off) and the images in order."""
    from tqdm import tqdm

    from .scoring import candidates

    rows, feats, images = [], {}, []
    with torch.inference_mode():
        for job in tqdm(jobs, unit="image", mininterval=10, disable=not progress):
            c = candidates(job)
            cands, runs = c.tests, c.runs
            images.append(job.image)
            stack = np.stack([c.truth, *cands.values()])
            x = torch.from_numpy(stack).to(nets.device).permute(0, 3, 1, 2).float() / 255
            keys = [(m, runs[m].get("variant", ""), runs[m].get("seed", "")) for m in cands]
            if nets.lpips is not None:
                d = nets.lpips.distances(x[:1], x[1:]).cpu().numpy()
                for (m, v, s), value in zip(keys, d, strict=True):
                    rows.append({"method": m, "variant": v, "seed": s, "image": job.image,
                                 "lpips": float(value)})  # fmt: skip
            if nets.inception is not None:
                f = inception_features(nets.inception, x).float().cpu().numpy()
                named = [feature_key(*k) for k in keys]
                for name, row in zip([TRUTH, *named], f, strict=True):
                    if name != TRUTH or truth:
                        feats.setdefault(name, []).append(row)
    return rows, {k: np.stack(v) for k, v in feats.items()}, images


def write_system(jobs, nets: Nets, scores_path, features_path, *, truth: bool = False) -> int:
    """One system's perceptual job: the LPIPS table (:data:`~colorcnn.tables.PERCEPTUAL_COLUMNS`)
    and the features file (``images``, the test images in order, and one array per
    :func:`feature_key`), each written atomically. Returns the number of images."""
    import pandas as pd

    from .files import atomic_path
    from .tables import PERCEPTUAL_COLUMNS, write_frame

    rows, feats, images = score_perceptual(jobs, nets, truth=truth)
    write_frame(pd.DataFrame(rows, columns=list(PERCEPTUAL_COLUMNS)), scores_path,
                PERCEPTUAL_COLUMNS)  # fmt: skip
    with atomic_path(features_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, images=np.array(images, dtype=str), **feats)
    log.info("%d images: LPIPS %s, FID features %s", len(images),
             "on" if nets.lpips is not None else "off", ", ".join(feats) or "off")  # fmt: skip
    return len(images)


def system_of(key: str) -> str:
    """The study's system of a features key (:func:`colorcnn.systems.system_scores`'s
    naming: a variant for the model's runs, the name for an external system, the baseline's
    name)."""
    from .systems import EXTERNAL, MODEL

    method, variant, _ = key.split("|")
    return variant if method in (MODEL, EXTERNAL) else method


def fid_table(paths, n_boot: int, device: str = "cpu"):
    """Every system's FID (:data:`~colorcnn.tables.FID_COLUMNS`) from the perceptual jobs'
    features files ``paths``: one of them holds the originals' (the baselines' job); all must
    list the same images in the same order."""
    import pandas as pd

    from .systems import order
    from .tables import FID_COLUMNS

    truth, images, by_system = None, None, {}
    for path in paths:
        with np.load(path) as z:
            names = list(z["images"])
            if images is None:
                images = names
            elif names != images:
                raise ValueError(f"{path}: its images are not those of {paths[0]} (in order)")
            for key in z.files:
                if key == TRUTH:
                    truth = z[key]
                elif key != "images":
                    by_system.setdefault(system_of(key), []).append(z[key])
    if truth is None:
        raise ValueError("no features of the originals among " + ", ".join(map(str, paths)))
    rows = []
    for system in order(by_system):
        r = fid_with_interval(by_system[system], truth, n_boot, device=device)
        rows.append({"system": system, **r})
        log.info("FID %s: %.3f [%.3f, %.3f] (%d images, %d seeds)", system, r["fid"],
                 r["fid_lo"], r["fid_hi"], r["n"], r["seeds"])  # fmt: skip
    return pd.DataFrame(rows, columns=list(FID_COLUMNS))
