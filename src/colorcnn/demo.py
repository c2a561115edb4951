"""The embedded demo: small datasets in the real layouts, so that the whole workflow runs
offline in minutes through the same code paths as at full scale.

``photos``: training images are deterministic random crops (varied position, scale, aspect and
mirror) of photographs that installed packages ship, saved as
``train/n9000000K/n9000000K_KKKK.JPEG`` like ILSVRC-2012. Test images come from *other*
photographs, saved as ``SUN397/<letter>/<category>/sun_*.jpg`` like SUN397, at several
resolutions; one gray photograph is included so the test sampler's rejection path runs.

``learnable``: generated scenes whose colour is given by texture (:mod:`colorcnn.learnable`),
small training images and larger test images, as PNGs in the same layouts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

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
    dataset: str = "photos",
    train_per_source: int = 45,
    test_per_source: int = 4,
    seed: int = 0,
) -> dict[str, Path]:
    """Write the demo datasets under ``out_dir``: ``photos`` (crops of package photographs)
    or ``learnable`` (see :mod:`colorcnn.learnable`).

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


#: Training "classes" and test categories of the learnable task (names only: every image is
#: drawn from the same distribution of scenes).
LEARNABLE_CLASSES = 4
LEARNABLE_CATEGORIES = ("patchwork", "quilt", "tiles", "weave")


def _learnable(paths, n_train: int, test_per_category: int, seed: int) -> None:
    from .learnable import images

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
