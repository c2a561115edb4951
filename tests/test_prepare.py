"""The data stage: decoding edge cases, rejection reasons, and shard contents."""

import csv

import numpy as np
import pytest
from conftest import natural_rgb, save_jpeg
from PIL import Image

from colorcnn.color import rgb_to_y_uv_uint8
from colorcnn.images import DecodeLimits, ImageRejected, load_rgb, resize_to_model
from colorcnn.sampling import Entry, write_manifest
from colorcnn.shards import PrepareOptions, convert_image, load_shard, prepare_shard, shard_paths

OPTS = PrepareOptions(image_size=32, limits=DecodeLimits(min_side=16, max_pixels=200_000))


def _reason(path, opts=OPTS):
    with pytest.raises(ImageRejected) as e:
        convert_image(path, opts)
    return e.value.reason


def test_truncated_jpeg(tmp_path):
    p = save_jpeg(tmp_path / "a.JPEG", 200, 300)
    p.write_bytes(p.read_bytes()[:1500])
    assert _reason(p) == "truncated"


def test_not_an_image(tmp_path):
    p = tmp_path / "a.JPEG"
    p.write_text("<html>404 not found</html>")
    assert _reason(p) == "unreadable"
    assert _reason(tmp_path / "missing.JPEG") == "missing"


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "WEBP"])
def test_other_formats_under_jpeg_name_decode_by_content(tmp_path, fmt):
    p = tmp_path / "a.JPEG"
    Image.fromarray(natural_rgb(60, 80)).save(p, format=fmt)
    y, uv = convert_image(p, OPTS)
    assert y.shape == (32, 32) and uv.shape == (2, 32, 32)


def test_cmyk_jpeg_is_converted(tmp_path):
    p = tmp_path / "cmyk.JPEG"
    Image.fromarray(natural_rgb(60, 80)).convert("CMYK").save(p, format="JPEG")
    assert Image.open(p).mode == "CMYK"
    assert load_rgb(p).mode == "RGB"
    convert_image(p, OPTS)


def test_palette_is_converted_and_gray_palette_rejected(tmp_path):
    p = tmp_path / "pal.png"
    Image.fromarray(natural_rgb(60, 80)).convert("P", palette=Image.Palette.ADAPTIVE).save(p)
    convert_image(p, OPTS)
    g = tmp_path / "graypal.png"
    Image.fromarray(natural_rgb(60, 80)).convert("L").convert("P").save(g)
    assert Image.open(g).mode == "P"
    assert _reason(g) == "grayscale"


def test_sixteen_bit_gray_is_rejected_as_grayscale_and_scaled(tmp_path):
    p = tmp_path / "g16.png"
    a = (np.linspace(0, 65535, 60 * 80).reshape(60, 80)).astype(np.uint16)
    Image.fromarray(a).save(p)
    assert _reason(p) == "grayscale"
    from colorcnn.images import open_image

    im = open_image(p)
    assert im.mode == "L" and np.asarray(im).max() == 255


def test_exif_orientation_is_applied(tmp_path):
    p = tmp_path / "rot.JPEG"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.fromarray(natural_rgb(40, 100)).save(p, format="JPEG", exif=exif)
    assert Image.open(p).size == (100, 40)
    assert load_rgb(p).size == (40, 100)


def test_grayscale_and_near_grayscale(tmp_path):
    g = tmp_path / "g.JPEG"
    Image.fromarray(natural_rgb(60, 80)).convert("L").save(g)
    assert _reason(g) == "grayscale"
    rgb_gray = tmp_path / "rgbgray.png"
    Image.fromarray(natural_rgb(60, 80)).convert("L").convert("RGB").save(rgb_gray)
    assert _reason(rgb_gray) == "grayscale"
    sepia = natural_rgb(60, 80).mean(axis=-1, keepdims=True).repeat(3, -1)
    sepia[..., 0] += 2  # a faint tint: V is 129 instead of 128
    s = tmp_path / "sepia.png"
    Image.fromarray(sepia.clip(0, 255).astype(np.uint8)).save(s)
    assert _reason(s) == "near_grayscale"


def test_too_small_and_decompression_bomb(tmp_path):
    assert _reason(save_jpeg(tmp_path / "s.JPEG", 10, 200)) == "too_small"
    assert _reason(save_jpeg(tmp_path / "b.JPEG", 400, 600)) == "decompression_bomb"


def test_pil_bomb_error_is_a_rejection(tmp_path, monkeypatch):
    p = save_jpeg(tmp_path / "b.JPEG", 100, 100)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert _reason(p, PrepareOptions(image_size=32)) == "decompression_bomb"


def test_reduced_decode_keeps_at_least_the_model_size(tmp_path):
    p = save_jpeg(tmp_path / "big.JPEG", 600, 900)
    im = load_rgb(p, draft_size=(64, 64))
    assert min(im.size) >= 64 and im.size[0] < 900


def test_resize_crop_and_stretch():
    im = Image.fromarray(natural_rgb(50, 100))
    assert resize_to_model(im, 20, "crop").size == (20, 20)
    assert resize_to_model(im, 20, "stretch").size == (20, 20)
    with pytest.raises(ValueError, match="'crop' or 'stretch'"):
        resize_to_model(im, 20, "pad")
    with pytest.raises(ValueError, match="resample must be one of"):
        resize_to_model(im, 20, "crop", "nearest")


def test_options_validate():
    with pytest.raises(ValueError, match="image_size"):
        PrepareOptions(image_size=4)
    with pytest.raises(ValueError, match="min_side"):
        DecodeLimits(min_side=0)


def _make_manifest(tmp_path, n_good=7):
    root = tmp_path / "data"
    entries = []
    for k in range(n_good):
        save_jpeg(root / "c" / f"{k}.JPEG", 40 + 7 * k, 64, seed=k)
        entries.append(Entry(f"c/{k}.JPEG", "c", 0))
    (root / "c" / "bad.JPEG").write_bytes(b"\xff\xd8garbage")
    entries.insert(3, Entry("c/bad.JPEG", "c", 0))
    write_manifest(tmp_path / "manifest.tsv", entries, root)
    return root, entries


def test_shard_equals_direct_conversion_and_lists_rejections(tmp_path):
    root, entries = _make_manifest(tmp_path)
    out = shard_paths(tmp_path / "shards", 1)
    opts = PrepareOptions(image_size=32, limits=DecodeLimits(min_side=16))
    counts = prepare_shard(tmp_path / "manifest.tsv", 1, 5, out, opts, threads=2)
    assert counts == {"kept": 3, "rejected": 0}  # rows 5..7 of 8
    y, uv = load_shard(out["Y"])
    assert isinstance(y, np.memmap) and y.shape == (3, 32, 32) and uv.shape == (3, 2, 32, 32)
    with open(out["index"]) as f:
        idx = list(csv.DictReader(f, delimiter="\t"))
    assert [r["row"] for r in idx] == ["5", "6", "7"]
    for i, r in enumerate(idx):
        im = load_rgb(root / r["path"], draft_size=(32, 32))
        rgb = np.asarray(resize_to_model(im, 32, "crop", "bilinear"))
        y_ref, uv_ref = rgb_to_y_uv_uint8(rgb)
        np.testing.assert_array_equal(y[i], y_ref)
        np.testing.assert_array_equal(uv[i], uv_ref)
    out0 = shard_paths(tmp_path / "shards", 0)
    # rows 0..4 hold the corrupt file: it is listed, the others kept
    assert prepare_shard(tmp_path / "manifest.tsv", 0, 5, out0, opts) == {"kept": 4, "rejected": 1}
    with open(out0["rejected"]) as f:
        rej = list(csv.DictReader(f, delimiter="\t"))
    assert [(r["path"], r["reason"]) for r in rej] == [("c/bad.JPEG", "unreadable")]
    assert not list((tmp_path / "shards").glob(".tmp-*"))


def test_shard_past_the_end_is_empty(tmp_path):
    _make_manifest(tmp_path, 2)
    out = shard_paths(tmp_path / "shards", 3)
    assert prepare_shard(tmp_path / "manifest.tsv", 3, 4, out, OPTS) == {"kept": 0, "rejected": 0}
    assert load_shard(out["Y"])[0].shape == (0, 32, 32)


def test_prepare_and_concat_scripts(tmp_path, run_script):
    _make_manifest(tmp_path)
    out = {k: str(v) for k, v in shard_paths(tmp_path / "shards", 0).items()}
    run_script(
        "prepare",
        input={"manifest": tmp_path / "manifest.tsv"},
        output=out,
        params=dict(
            shard_size=8,
            image_size=32,
            resize="crop",
            resample="bilinear",
            min_side=16,
            max_pixels=10**8,
            min_chroma=2.0,
            reduced_decode=True,
        ),
        wildcards={"shard": "00000"},
        threads=2,
        log=[tmp_path / "prepare.log"],
    )
    assert np.load(out["Y"]).shape == (7, 32, 32)
    assert "1 rejected" in (tmp_path / "prepare.log").read_text()
    run_script(
        "concat_rejected",
        input=[out["rejected"], out["rejected"]],
        output=[tmp_path / "all.tsv"],
        log=[tmp_path / "c.log"],
    )
    lines = (tmp_path / "all.tsv").read_text().splitlines()
    assert lines[0] == "path\treason\tdetail" and len(lines) == 3


def test_sample_and_demo_scripts(tmp_path, run_script):
    demo = tmp_path / "demo"
    run_script(
        "demo",
        output={"ilsvrc": demo / "ILSVRC2012", "sun": demo / "SUN397"},
        params=dict(train_per_source=2, test_per_source=2, seed=0),
        log=[tmp_path / "demo.log"],
    )
    assert len(list((demo / "ILSVRC2012" / "train").glob("n9*/*.JPEG"))) == 14
    assert len(list((demo / "SUN397").glob("*/*/sun_*.jpg"))) == 5
    run_script(
        "sample",
        output={"manifest": tmp_path / "m.tsv"},
        params=dict(
            source="ilsvrc", root=str(demo / "ILSVRC2012"), n_images=10, allow_fewer=False, seed=1
        ),
        log=[tmp_path / "s.log"],
    )
    assert len((tmp_path / "m.tsv").read_text().splitlines()) == 12
    assert "wrote 10 entries" in (tmp_path / "s.log").read_text()
