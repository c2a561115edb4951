"""The registry of systems: baselines' chroma, labels, colours and order, and seeds averaged
image by image in one place (colorcnn.systems)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scores_table

from colorcnn.color import rgb_to_yuv
from colorcnn.systems import BASELINES, GRAY, baseline_rgb, label, order, palette, per_image
from colorcnn.testimages import natural_rgb


def test_baselines_keep_y_and_set_their_chroma():
    y = rgb_to_yuv(natural_rgb(60, 80))[..., 0]
    stats = {"mean_u": 120.0, "mean_v": 140.0}
    for name, (u, v) in (("gray", (128, 128)), ("mean_chroma", (120, 140))):
        yuv = rgb_to_yuv(baseline_rgb(name, y, stats))
        assert np.abs(yuv[..., 0] - y).mean() < 0.5, name  # the image's own Y
        # every pixel has the baseline's U and V (in that order), to rounding
        np.testing.assert_allclose(yuv[..., 1].mean(), u, atol=0.5, err_msg=name)
        np.testing.assert_allclose(yuv[..., 2].mean(), v, atol=0.5, err_msg=name)
    gray = baseline_rgb(GRAY, y)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    with pytest.raises(ValueError, match="unknown baseline 'sepia'"):
        baseline_rgb("sepia", y)
    with pytest.raises(ValueError, match="mean_chroma baseline needs the training set"):
        baseline_rgb("mean_chroma", y)


def test_every_system_has_one_label_colour_and_place():
    names = ["mean_chroma", "mse", "gray", "paper"]
    assert order(names) == ["mse", "paper", "gray", "mean_chroma"]  # variants, then baselines
    assert label("gray") == "gray (U=V=128)" and label("paper") == "paper"
    colours = palette(order(names))
    assert colours["gray"] == BASELINES["gray"].color and len(set(colours.values())) == 4
    many = palette([f"v{k}" for k in range(13)])  # variants beyond the palette cycle
    assert len(many) == 13


def test_variants_are_averaged_over_seeds_image_by_image():
    df = scores_table()
    wide = per_image(df, "qssim")
    assert list(wide.columns) == ["paper", "mse", "gray", "mean_chroma"]
    img = wide.index[0]
    seeds = df[(df["variant"] == "paper") & (df["image"] == img)]["qssim"]
    assert len(seeds) == 2 and wide.loc[img, "paper"] == pytest.approx(seeds.mean())
    assert list(wide.index) == sorted(wide.index)  # a fixed image order for the bootstrap
