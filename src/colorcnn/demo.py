"""The embedded demo: small datasets in the real layouts, made from photographs that installed
packages ship, so that the whole workflow runs offline in minutes.

Training images are deterministic random crops (varied position, scale, aspect and mirror) of
some photographs, saved as ``train/n9000000K/n9000000K_KKKK.JPEG`` like ILSVRC-2012. Test images
come from *other* photographs, saved as ``SUN397/<letter>/<category>/sun_*.jpg`` like SUN397, at
several resolutions; one gray photograph is included so the test sampler's rejection path runs.
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
    out_dir: str | Path, *, train_per_source: int = 40, test_per_source: int = 4, seed: int = 0
) -> dict[str, Path]:
    """Write the demo datasets under ``out_dir``.

    Returns ``{"ilsvrc": <root with train/>, "sun": <SUN397 root>}``. Deterministic for a seed.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    train = out_dir / "ILSVRC2012" / "train"
    for k, (name, pkg, fn) in enumerate(TRAIN_SOURCES):
        src = Image.open(package_image(pkg, fn)).convert("RGB")
        synset = f"n9{k:07d}"
        (train / synset).mkdir(parents=True, exist_ok=True)
        for j in range(train_per_source):
            crop = _random_crop(src, rng, int(rng.integers(72, 160)))
            crop.save(train / synset / f"{synset}_{j:04d}.JPEG", quality=90)
        log.info("demo train class %s (%s): %d crops", synset, name, train_per_source)
    sun = out_dir / "SUN397"
    for cat, pkg, fn in TEST_SOURCES:
        src = Image.open(package_image(pkg, fn)).convert("RGB")
        d = sun / cat[0] / cat
        d.mkdir(parents=True, exist_ok=True)
        src.save(d / f"sun_{cat}_full.jpg", quality=92)
        for j in range(test_per_source - 1):
            crop = _random_crop(src, rng, int(rng.integers(96, 320)))
            crop.save(d / f"sun_{cat}_{j:03d}.jpg", quality=92)
    cat, pkg, fn = GRAY_TEST_SOURCE
    d = sun / cat[0] / cat
    d.mkdir(parents=True, exist_ok=True)
    Image.open(package_image(pkg, fn)).convert("L").save(d / f"sun_{cat}_gray.jpg", quality=92)
    return {"ilsvrc": out_dir / "ILSVRC2012", "sun": sun}
