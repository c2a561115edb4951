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


def test_partition_lists_are_normalised(tmp_path):
    """A UTF-8 BOM, duplicated lines and absolute paths under the root are what real list
    files hold; a `..` segment climbs out of the root (and the output folder) and is refused."""
    root = make_sun_tree(tmp_path / "SUN397")
    listing = tmp_path / "Testing_01.txt"
    lines = [
        "/a/abbey/sun_a_abbey_0.jpg",
        "/a/abbey/sun_a_abbey_0.jpg",  # twice
        f"{root}/b/bedroom/sun_b_bedroom_1.jpg",  # absolute, under the root
        "/a/abbey/../../../etc/passwd",
        "",
    ]
    listing.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())  # BOM, CRLF
    cats, rejected = list_sun(root, listing)
    assert cats == {
        "abbey": ["a/abbey/sun_a_abbey_0.jpg"],
        "bedroom": ["b/bedroom/sun_b_bedroom_1.jpg"],
    }
    assert [(p, r) for p, r, _ in rejected] == [("a/abbey/../../../etc/passwd", "layout")]
    rows, _ = sample_test_set(root, 5, seed=1, list_file=listing)
    assert sorted(r[0] for r in rows) == [
        "a/abbey/sun_a_abbey_0.jpg",
        "b/bedroom/sun_b_bedroom_1.jpg",
    ]


def test_a_name_that_is_not_utf8_is_a_test_image(tmp_path):
    import os

    root = make_sun_tree(tmp_path / "SUN397")
    odd = os.fsdecode(b"sun_caf\xe9.jpg")
    save_jpeg(root / "a" / "abbey" / odd, 40, 50, seed=9)
    rows, _ = sample_test_set(root, 10, seed=1)
    assert f"a/abbey/{odd}" in [r[0] for r in rows]


def test_an_empty_test_set_stops_here_saying_why(tmp_path):
    """Every candidate gray: the test set must not pass on to colorize and score (which ran
    on nothing, then the study crashed with KeyError: 'delta')."""
    from PIL import Image

    from colorcnn.testimages import natural_rgb

    for k in range(3):
        path = tmp_path / "SUN397" / "a" / "abbey" / f"sun_{k}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(natural_rgb(40, 50, k)).convert("L").save(path)
    with pytest.raises(ValueError, match=r"no usable test image.*3 rejected.*grayscale: 3"):
        sample_test_set(tmp_path / "SUN397", 5, seed=1)
