"""The SUN397 test set: categories, candidates replaced, odd trees (colorcnn.testset)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import make_sun_tree

from colorcnn.testimages import save_jpeg
from colorcnn.testset import list_sun, sample_test_set, sun_category


def test_sun_category_and_listing(tmp_path):
    assert sun_category("a/abbey/sun_x.jpg") == "abbey"
    assert sun_category("/a/apartment_building/outdoor/sun_x.jpg") == "apartment_building/outdoor"
    with pytest.raises(ValueError, match="not a SUN397 path"):
        sun_category("abbey/sun_x.jpg")
    root = make_sun_tree(tmp_path / "SUN397")
    cats, misplaced = list_sun(root)
    assert sorted(cats) == ["abbey", "apartment_building/outdoor", "bedroom"] and not misplaced
    (tmp_path / "Testing_01.txt").write_text("/a/abbey/sun_a_abbey_0.jpg\n/b/bedroom/sun_png.jpg\n")
    cats, _ = list_sun(root, tmp_path / "Testing_01.txt")
    assert {c: len(v) for c, v in cats.items()} == {"abbey": 1, "bedroom": 1}


def test_sun_sampler_replaces_rejected_candidates(tmp_path):
    root = make_sun_tree(tmp_path / "SUN397")
    rows, rejected = sample_test_set(root, 5, seed=3, threads=2)
    assert {Path(p).name: r for p, r, _ in rejected} == {
        "sun_gray.jpg": "grayscale",
        "sun_broken.jpg": "unreadable",
    }
    counts = pd.Series([r[1] for r in rows]).value_counts().to_dict()
    # abbey: 4 usable + 1 gray; bedroom: 4 + the PNG named .jpg (usable); the sub-category: 4
    assert counts == {"bedroom": 5, "abbey": 4, "apartment_building/outdoor": 4}
    assert all(r[2] == 50 and r[3] == 40 for r in rows)
    assert sample_test_set(root, 5, seed=3) == (rows, rejected)


def test_sun_sampler_handles_odd_trees(tmp_path, caplog):
    """A stray file under a letter folder is listed (it crashed the sampler); an image smaller
    than QSSIM's window is rejected (it crashed scoring later); an empty category is named."""
    root = make_sun_tree(tmp_path / "SUN397")
    save_jpeg(root / "a" / "stray.jpg", 40, 50)
    save_jpeg(root / "b" / "bedroom" / "sun_tiny.jpg", 8, 50)
    save_jpeg(root / "c" / "cave" / "sun_tiny2.jpg", 3, 3)
    rows, rejected = sample_test_set(root, 5, seed=3)
    reasons = {Path(p).name: r for p, r, _ in rejected}
    assert reasons["stray.jpg"] == "layout" and reasons["sun_tiny.jpg"] == "too_small"
    assert reasons["sun_tiny2.jpg"] == "too_small"
    assert all(Path(r[0]).name not in reasons for r in rows)
    assert "1 of 4 categories have no usable test image" in caplog.text and "cave" in caplog.text
