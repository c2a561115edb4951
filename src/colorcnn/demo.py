"""The embedded demo: small datasets in the real layouts, so that the whole workflow runs
offline in minutes through the same code paths as at full scale.

``photos``: training images are deterministic random crops (varied position, scale, aspect and
mirror) of photographs that installed packages ship, saved as
``train/n9000000K/n9000000K_KKKK.JPEG`` like ILSVRC-2012. Test images come from *other*
photographs, saved as ``SUN397/<letter>/<category>/sun_*.jpg`` like SUN397, at several
resolutions; one gray photograph is included so the test sampler's rejection path runs.

``learnable``: generated scenes whose colour is given by texture (:func:`scene`), small
training images and larger test images, as PNGs in the same layouts.

The learnable task
------------------
A colorization task the network can provably learn: colour given by texture, not brightness.

Each image is a patchwork of regions on a smooth background. A region's *texture* decides its
colour: horizontal stripes are red, vertical stripes blue, a checkerboard green, and the
smooth background stays neutral. Each region's brightness is drawn independently of its
texture (every texture spans the same range of Y), so brightness alone says nothing about the
colour; only the pattern in Y does. A pipeline that works learns this within minutes on a
CPU, even with a random backbone; a broken one (U and V swapped, targets misaligned with their
images, a wrong scale) cannot, which makes the task a test of the whole chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .color import quantize, yuv_to_rgb
from .config import DemoOptions

log = logging.getLogger(__name__)

#: (name, package, file) of colour photographs used for training crops.
TRAIN_SOURCES = (
    ("astronaut", "skimage", "astronaut.png"),
    ("cat", "skimage", "chelsea.png"),
    ("motorcycle", "skimage", "motorcycle_left.png"),
    ("rocket", "skimage", "rocket.jpg"),
    ("galaxies", "skimage", "hubble_deep_field.jpg"),
    ("tissue", "skimage", "ihc.png"),
    ("retina", "skimage", "retina.jpg"),
)
#: Held-out photographs for the test set: (SUN-style category, package, file).
TEST_SOURCES = (
    ("coffee_shop", "skimage", "coffee.png"),
    ("office", "matplotlib", "grace_hopper.jpg"),
)
#: A gray photograph placed in the test tree; the sampler must reject it with a reason.
GRAY_TEST_SOURCE = ("street", "skimage", "camera.png")


def package_image(package: str, filename: str) -> Path:
    """Path of an image file shipped inside an installed package."""
    if package == "skimage":
        import skimage

        path = Path(skimage.__file__).parent / "data" / filename
    elif package == "matplotlib":
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / filename
    else:
        raise ValueError(f"unknown package {package!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{package} does not ship {filename} (looked for {path})")
    return path


def _random_crop(im: Image.Image, rng: np.random.Generator, out_short: int) -> Image.Image:
    w, h = im.size
    frac = rng.uniform(0.35, 0.9)
    aspect = rng.choice([4 / 3, 3 / 4, 1.0, 3 / 2])
    cw = min(w, int(round(min(w, h) * frac * np.sqrt(aspect))))
    ch = min(h, int(round(min(w, h) * frac / np.sqrt(aspect))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    crop = im.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    scale = out_short / min(crop.size)
    return crop.resize(
        (max(1, round(crop.size[0] * scale)), max(1, round(crop.size[1] * scale))),
        Image.Resampling.LANCZOS,
    )


def build_demo(
    out_dir: str | Path,
    *,
    dataset: str = DemoOptions.dataset,
    train_per_source: int = DemoOptions.train_per_source,
    test_per_source: int = DemoOptions.test_per_source,
    seed: int = DemoOptions.seed,
) -> dict[str, Path]:
    """Write the demo datasets under ``out_dir``: ``photos`` (crops of package photographs)
    or ``learnable`` (:func:`scene`).

    Returns ``{"ilsvrc": <root with train/>, "sun": <SUN397 root>}``. Deterministic for a seed.
    """
    out_dir = Path(out_dir)
    paths = {"ilsvrc": out_dir / "ILSVRC2012", "sun": out_dir / "SUN397"}
    if dataset == "photos":
        _photos(paths, train_per_source, test_per_source, np.random.default_rng(seed))
    elif dataset == "learnable":
        _learnable(paths, train_per_source, test_per_source, seed)
    else:
        raise ValueError(f"demo.dataset must be 'photos' or 'learnable', got {dataset!r}")
    return paths


def _photos(paths, train_per_source: int, test_per_source: int, rng) -> None:
    train = paths["ilsvrc"] / "train"
    for k, (name, pkg, fn) in enumerate(TRAIN_SOURCES):
        src = Image.open(package_image(pkg, fn)).convert("RGB")
        synset = f"n9{k:07d}"
        (train / synset).mkdir(parents=True, exist_ok=True)
        for j in range(train_per_source):
            crop = _random_crop(src, rng, int(rng.integers(72, 160)))
            crop.save(train / synset / f"{synset}_{j:04d}.JPEG", quality=90)
        log.info("demo train class %s (%s): %d crops", synset, name, train_per_source)
    for cat, pkg, fn in TEST_SOURCES:
        src = Image.open(package_image(pkg, fn)).convert("RGB")
        d = paths["sun"] / cat[0] / cat
        d.mkdir(parents=True, exist_ok=True)
        src.save(d / f"sun_{cat}_full.jpg", quality=92)
        for j in range(test_per_source - 1):
            crop = _random_crop(src, rng, int(rng.integers(96, 320)))
            crop.save(d / f"sun_{cat}_{j:03d}.jpg", quality=92)
    cat, pkg, fn = GRAY_TEST_SOURCE
    d = paths["sun"] / cat[0] / cat
    d.mkdir(parents=True, exist_ok=True)
    Image.open(package_image(pkg, fn)).convert("L").save(d / f"sun_{cat}_gray.jpg", quality=92)


# --- the learnable task ---------------------------------------------------------------------

#: texture → (U, V) offset from neutral (128, 128), in 8-bit levels.
TEXTURE_CHROMA = {
    "horizontal": (-30.0, 60.0),  # red
    "vertical": (45.0, -20.0),  # blue
    "checker": (-40.0, -40.0),  # green
}
#: Stripe period as a fraction of the image's shorter side: the pattern survives resizing to
#: the model size (at 48 px, a period of about 5 pixels).
PERIOD = 0.1
AMPLITUDE = 20.0  # ± levels of Y inside a textured region
BRIGHTNESS = (100.0, 150.0)  # range of every region's mean Y, whatever its texture


@dataclass(frozen=True)
class Scene:
    """Generated image: ``rgb`` ``(H, W, 3)`` uint8 and the texture index of each pixel."""

    rgb: np.ndarray
    labels: np.ndarray  # (H, W): 0 background, 1.. index into TEXTURE_CHROMA + 1


def _texture(kind: str, yy: np.ndarray, xx: np.ndarray, phase: float, period: float):
    """A ±1 pattern over pixel coordinates."""
    w = 2 * np.pi / period
    if kind == "horizontal":
        return np.sign(np.sin(w * yy + phase))
    if kind == "vertical":
        return np.sign(np.sin(w * xx + phase))
    return np.sign(np.sin(w * xx + phase)) * np.sign(np.sin(w * yy + phase))


def scene(h: int, w: int, rng: np.random.Generator, n_regions: int | None = None) -> Scene:
    """One image: a smooth background with 2-5 textured rectangles and discs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = rng.uniform(*BRIGHTNESS)
    period = max(4.0, PERIOD * min(h, w))
    tilt = rng.uniform(-0.25, 0.25, 2) * 40 / max(h, w)
    y = base + tilt[0] * (yy - h / 2) + tilt[1] * (xx - w / 2)  # smooth, neutral background
    u = np.full((h, w), 128.0)
    v = np.full((h, w), 128.0)
    labels = np.zeros((h, w), np.uint8)
    kinds = list(TEXTURE_CHROMA)
    for _ in range(n_regions or int(rng.integers(2, 6))):
        k = int(rng.integers(len(kinds)))
        side = rng.uniform(0.25, 0.5) * min(h, w)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        if rng.random() < 0.5:
            mask = (np.abs(yy - cy) < side / 2) & (np.abs(xx - cx) < side * rng.uniform(0.5, 1))
        else:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < (side / 2) ** 2
        pattern = _texture(kinds[k], yy, xx, rng.uniform(0, 2 * np.pi), period)
        y[mask] = rng.uniform(*BRIGHTNESS) + AMPLITUDE * pattern[mask]
        du, dv = TEXTURE_CHROMA[kinds[k]]
        u[mask], v[mask] = 128 + du, 128 + dv
        labels[mask] = k + 1
    y += rng.normal(0, 2.0, (h, w))  # sensor noise
    rgb = quantize(yuv_to_rgb(np.stack([y, u, v], axis=-1)))
    return Scene(rgb, labels)


def images(n: int, seed: int, sizes=(72, 128)):
    """``n`` scenes of random sizes in ``[sizes[0], sizes[1])`` (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = (int(s) for s in rng.integers(sizes[0], sizes[1], 2))
        yield scene(h, w, rng).rgb


#: Training "classes" and test categories of the learnable task (names only: every image is
#: drawn from the same distribution of scenes).
LEARNABLE_CLASSES = 4
LEARNABLE_CATEGORIES = ("patchwork", "quilt", "tiles", "weave")


def _learnable(paths, n_train: int, test_per_category: int, seed: int) -> None:
    train = paths["ilsvrc"] / "train"
    for j, rgb in enumerate(images(n_train, seed, sizes=(48, 97))):
        synset = f"n8{j % LEARNABLE_CLASSES:07d}"
        (train / synset).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(train / synset / f"{synset}_{j:04d}.png")
    n_test = test_per_category * len(LEARNABLE_CATEGORIES)
    for j, rgb in enumerate(images(n_test, seed + 1_000_003, sizes=(96, 257))):
        cat = LEARNABLE_CATEGORIES[j % len(LEARNABLE_CATEGORIES)]
        d = paths["sun"] / cat[0] / cat
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(d / f"sun_{cat}_{j:04d}.png")
    log.info("learnable task: %d training and %d test scenes", n_train, n_test)
