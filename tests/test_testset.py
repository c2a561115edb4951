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


# --- ImageNet val protocols ----------------------------------------------------------------------


def make_val_folder(d: Path, sizes=((60, 90), (80, 50), (64, 64), (70, 100), (50, 75))) -> Path:
    """A flat ILSVRC2012_img_val folder, written out of name order, with a gray image, an
    unreadable one, and a file that is not a val image."""
    from PIL import Image

    from colorcnn.testimages import natural_rgb

    d.mkdir(parents=True)
    for i in reversed(range(len(sizes))):
        h, w = sizes[i]
        save_jpeg(d / f"ILSVRC2012_val_{i + 1:08d}.JPEG", h, w, seed=i)
    gray = natural_rgb(40, 60, seed=9).mean(axis=2).astype("uint8")
    Image.fromarray(gray).save(d / f"ILSVRC2012_val_{len(sizes) + 1:08d}.JPEG")
    (d / f"ILSVRC2012_val_{len(sizes) + 2:08d}.JPEG").write_bytes(b"not a jpeg")
    (d / "LOC_val_solution.csv").write_text("ImageId,PredictionString\n")
    return d


def _crop_resize(path: Path, crop: bool):
    """The protocol restated: numpy centre crop, then Pillow's bicubic resize to 256x256."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"))
    if crop:
        h, w = rgb.shape[:2]
        s = min(h, w)
        rgb = rgb[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return np.asarray(Image.fromarray(rgb).resize((256, 256), Image.BICUBIC))


def test_val5k_takes_the_first_images_by_name_centre_cropped_to_256(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from colorcnn import testset

    root = make_val_folder(tmp_path / "val")
    monkeypatch.setattr(testset, "VAL5K", 3)  # "the first 5,000", at the scale of the test
    rows, rejected = testset.imagenet_val_test_set(root, "val5k", tmp_path / "truth")
    assert [r[0] for r in rows] == [f"ILSVRC2012_val_{i:08d}.png" for i in (1, 2, 3)]
    assert all(r[1:] == ("imagenet_val", 256, 256) for r in rows)
    assert rejected == [("LOC_val_solution.csv", "layout", rejected[0][2])]
    for r in rows:
        got = np.asarray(Image.open(tmp_path / "truth" / r[0]))
        want = _crop_resize(root / r[0].replace(".png", ".JPEG"), crop=True)
        np.testing.assert_array_equal(got, want)


def test_val50k_resizes_every_image_without_a_crop_and_lists_the_unreadable(tmp_path):
    import numpy as np
    from PIL import Image

    from colorcnn.testset import imagenet_val_test_set

    root = make_val_folder(tmp_path / "val")
    rows, rejected = imagenet_val_test_set(root, "val50k", tmp_path / "truth", threads=2)
    assert len(rows) == 6  # five colour images and the gray one: the protocol keeps it
    assert {p: why for p, why, _ in rejected} == {
        "ILSVRC2012_val_00000007.JPEG": "unreadable",
        "LOC_val_solution.csv": "layout",
    }
    got = np.asarray(Image.open(tmp_path / "truth" / "ILSVRC2012_val_00000002.png"))
    np.testing.assert_array_equal(got, _crop_resize(root / "ILSVRC2012_val_00000002.JPEG", False))


def test_a_list_of_names_and_the_original_protocol(tmp_path):
    from colorcnn.testset import imagenet_val_test_set

    root = make_val_folder(tmp_path / "val")
    (tmp_path / "ctest.txt").write_text(
        "ILSVRC2012_val_00000004.JPEG\nILSVRC2012_val_00000002.JPEG\n"
    )
    rows, rejected = imagenet_val_test_set(
        root, "original", tmp_path / "truth", list_file=tmp_path / "ctest.txt"
    )
    assert rows == [
        ("ILSVRC2012_val_00000002.JPEG", "imagenet_val", 50, 80),
        ("ILSVRC2012_val_00000004.JPEG", "imagenet_val", 100, 70),
    ]
    assert not rejected and not list((tmp_path / "truth").glob("*.png"))


def test_gray_inputs_are_the_quantized_y_every_system_colorizes(tmp_path):
    import numpy as np
    from PIL import Image

    from colorcnn.color import rgb_to_y_uv_uint8
    from colorcnn.testset import write_gray_inputs

    root = make_sun_tree(tmp_path / "SUN397")
    rows = [{"path": "a/abbey/sun_a_abbey_0.jpg"}, {"path": "b/bedroom/sun_png.jpg"}]
    out = write_gray_inputs(root, rows, tmp_path / "gray", threads=2)
    assert [p.relative_to(tmp_path / "gray").as_posix() for p in out] == [
        "a/abbey/sun_a_abbey_0.jpg.png",
        "b/bedroom/sun_png.jpg.png",
    ]
    for r, p in zip(rows, out, strict=True):
        want = rgb_to_y_uv_uint8(np.asarray(Image.open(root / r["path"]).convert("RGB")))[0]
        np.testing.assert_array_equal(np.asarray(Image.open(p)), want)


def test_gray_inputs_of_x_jpg_and_x_png_in_one_folder_stay_two(tmp_path):
    from PIL import Image

    from colorcnn.testset import write_gray_inputs

    root = tmp_path / "SUN397"
    save_jpeg(root / "a" / "abbey" / "x.jpg", 20, 30, seed=1)
    Image.open(root / "a" / "abbey" / "x.jpg").save(root / "a" / "abbey" / "x.png")
    rows = [{"path": "a/abbey/x.jpg"}, {"path": "a/abbey/x.png"}]
    out = write_gray_inputs(root, rows, tmp_path / "gray")
    assert len(set(out)) == 2 and len(list((tmp_path / "gray").rglob("*.png"))) == 2
