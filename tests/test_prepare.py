"""The data stage: decoding edge cases, rejection reasons, shard contents and their writing."""

import csv
import hashlib
import json
import os

import numpy as np
import pytest
from PIL import Image

from colorcnn.color import rgb_to_y_uv_uint8
from colorcnn.config import PrepareOptions
from colorcnn.data import open_shard
from colorcnn.images import ImageRejected, load_rgb, open_image, resize_to_model
from colorcnn.sampling import Entry, write_manifest
from colorcnn.shards import ShardFiles, convert_image, prepare_shard, read_index
from colorcnn.synthetic import natural_rgb, save_jpeg

OPTS = PrepareOptions(image_size=32, min_side=16, max_pixels=200_000)


def _reason(path, opts=OPTS):
    with pytest.raises(ImageRejected) as e:
        convert_image(path, opts)
    return e.value.reason


def test_truncated_jpeg(tmp_path):
    p = save_jpeg(tmp_path / "a.JPEG", 200, 300)
    p.write_bytes(p.read_bytes()[:1500])
    assert _reason(p) == "truncated"


def test_not_an_image_missing_and_broken_link(tmp_path):
    p = tmp_path / "a.JPEG"
    p.write_text("<html>404 not found</html>")
    assert _reason(p) == "unreadable"
    assert _reason(tmp_path / "missing.JPEG") == "missing"
    (tmp_path / "link.JPEG").symlink_to(tmp_path / "gone.JPEG")
    with pytest.raises(ImageRejected, match="missing: broken symbolic link"):
        convert_image(tmp_path / "link.JPEG", OPTS)


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
    Image.fromarray(np.linspace(0, 65535, 60 * 80).reshape(60, 80).astype(np.uint16)).save(p)
    assert _reason(p) == "grayscale"
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


def test_min_side_is_checked_on_the_file_not_the_reduced_decode(tmp_path):
    """min_side above image_size: a 500x375 JPEG decodes at 1/8 for a 32 px model, but the
    file itself is large enough (the old check rejected it as 63x47)."""
    p = save_jpeg(tmp_path / "a.JPEG", 375, 500)
    opts = PrepareOptions(image_size=32, min_side=300)
    y, _ = convert_image(p, opts)
    assert y.shape == (32, 32)
    assert _reason(save_jpeg(tmp_path / "b.JPEG", 250, 500), opts) == "too_small"


def test_max_pixels_is_the_one_limit(tmp_path, monkeypatch):
    """A file under data.max_pixels is accepted even above Pillow's own limit."""
    p = save_jpeg(tmp_path / "a.JPEG", 300, 400)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as if the photo were 100 MP
    convert_image(p, PrepareOptions(image_size=32, min_side=16, max_pixels=10**9))
    assert _reason(p, PrepareOptions(image_size=32, min_side=16, max_pixels=1000)) == (
        "decompression_bomb"
    )


def test_a_real_100_megapixel_photo_is_accepted_when_max_pixels_allows(tmp_path):
    p = tmp_path / "huge.JPEG"
    Image.new("RGB", (10_000, 10_000), (200, 60, 40)).save(p, quality=50)
    opts = PrepareOptions(image_size=32, min_side=16, max_pixels=120_000_000)
    y, uv = convert_image(p, opts)
    assert y.shape == (32, 32) and abs(int(uv[1].mean()) - 128) > 20


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


def _make_manifest(tmp_path, n_good=7, bad_at=(3,)):
    root = tmp_path / "data"
    entries = []
    for k in range(n_good):
        save_jpeg(root / "c" / f"{k}.JPEG", 40 + 7 * k, 64, seed=k)
        entries.append(Entry(f"c/{k}.JPEG", "c", 0))
    (root / "c" / "bad.JPEG").write_bytes(b"\xff\xd8garbage")
    for i in bad_at:
        entries.insert(i, Entry("c/bad.JPEG", "c", 0))
    write_manifest(tmp_path / "manifest.tsv", entries, root)
    return root, entries


def test_shard_equals_direct_conversion_and_lists_rejections(tmp_path):
    root, _ = _make_manifest(tmp_path)
    files = ShardFiles.of(tmp_path / "shards", 1)
    opts = PrepareOptions(image_size=32, min_side=16)
    counts = prepare_shard(tmp_path / "manifest.tsv", 1, 5, files, opts, threads=2)
    assert counts == {"kept": 3, "rejected": 0}  # rows 5..7 of 8
    y, uv = open_shard(files.Y, files.UV)
    assert isinstance(y, np.memmap) and y.shape == (3, 32, 32) and uv.shape == (3, 2, 32, 32)
    meta, idx = read_index(files.index)
    assert [r["row"] for r in idx] == ["5", "6", "7"]
    for i, r in enumerate(idx):
        im = load_rgb(root / r["path"], draft_size=(32, 32))
        y_ref, uv_ref = rgb_to_y_uv_uint8(np.asarray(resize_to_model(im, 32, "crop", "bilinear")))
        np.testing.assert_array_equal(y[i], y_ref)
        np.testing.assert_array_equal(uv[i], uv_ref)
    # the index records the arrays' content digests and the chroma sums
    assert meta["Y_blake2b"] == hashlib.blake2b(np.asarray(y).tobytes(), digest_size=16).hexdigest()
    assert int(meta["U_sum"]) == int(np.asarray(uv[:, 0], np.int64).sum())
    files0 = ShardFiles.of(tmp_path / "shards", 0)
    # rows 0..4 hold the corrupt file: it is listed, the others kept
    counts = prepare_shard(tmp_path / "manifest.tsv", 0, 5, files0, opts)
    assert counts == {"kept": 4, "rejected": 1, "unreadable": 1}
    with open(files0.rejected) as f:
        rej = list(csv.DictReader(f, delimiter="\t"))
    assert [(r["path"], r["reason"]) for r in rej] == [("c/bad.JPEG", "unreadable")]
    assert not list((tmp_path / "shards").glob(".tmp-*"))


def test_kept_rows_are_written_once(tmp_path, monkeypatch):
    """With rejected rows, no second, full-size copy of the shard is ever on disk: when a
    finished array is moved into place, the shard's temporary files hold no more than it."""
    _make_manifest(tmp_path, n_good=12, bad_at=(2, 9))
    files = ShardFiles.of(tmp_path / "shards", 0)
    real_replace = os.replace
    seen = []

    def replace(src, dst):
        if str(dst).endswith(".npy"):
            same = files.Y.parent.glob(f".tmp-*{os.path.basename(dst)}")
            temps = sum(p.stat().st_size for p in same)
            seen.append((os.path.getsize(src), temps))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert prepare_shard(tmp_path / "manifest.tsv", 0, 14, files, OPTS)["rejected"] == 2
    assert len(seen) == 2
    for final, temps in seen:
        assert temps == final, (final, temps)


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    _make_manifest(tmp_path)
    files = ShardFiles.of(tmp_path / "shards", 0)
    files.Y.parent.mkdir(parents=True)
    stale = [files.Y.parent / f".tmp-99999-{p.name}" for p in (files.Y, files.UV, files.index)]
    for p in stale:
        p.write_bytes(b"x" * 1000)
    other = files.Y.parent / ".tmp-99999-shard-00001.Y.npy"  # another shard's: not ours
    other.write_bytes(b"x")
    prepare_shard(tmp_path / "manifest.tsv", 0, 8, files, OPTS)
    assert not any(p.exists() for p in stale) and other.exists()


def test_shard_past_the_end_is_empty(tmp_path):
    _make_manifest(tmp_path, 2)
    files = ShardFiles.of(tmp_path / "shards", 3)
    assert prepare_shard(tmp_path / "manifest.tsv", 3, 4, files, OPTS) == {"kept": 0, "rejected": 0}
    assert open_shard(files.Y, files.UV)[0].shape == (0, 32, 32)


PREPARE_PARAMS = dict(
    options=dict(
        image_size=32,
        resize="crop",
        resample="bilinear",
        min_side=16,
        max_pixels=10**8,
        min_chroma=2.0,
        reduced_decode=True,
    ),
    shard_size=8,
    train_rows=6,
)


def _run_prepare(run_script, manifest, shards, log, **params) -> dict[str, str]:
    """The prepare rule script on shard 0 of ``manifest``; returns its outputs."""
    out = {k: str(v) for k, v in ShardFiles.of(shards, 0).__dict__.items()}
    run_script(
        "prepare",
        input={"manifest": manifest},
        output=out,
        params={**PREPARE_PARAMS, **params},
        wildcards={"shard": "00000"},
        threads=2,
        log=[log],
    )
    return out


def test_prepare_and_summary_scripts(tmp_path, run_script):
    _make_manifest(tmp_path)
    out = _run_prepare(
        run_script, tmp_path / "manifest.tsv", tmp_path / "shards", tmp_path / "prepare.log"
    )
    assert np.load(out["Y"]).shape == (7, 32, 32)
    assert "1 rejected (unreadable 1)" in (tmp_path / "prepare.log").read_text()
    outputs = {k: tmp_path / f"{k}.out" for k in ("rejected", "classes", "chroma")}
    run_script(
        "data_summary",
        input={
            "manifest": tmp_path / "manifest.tsv",
            "index": [out["index"]],
            "rejected": [out["rejected"]],
        },
        output=outputs,
        log=[tmp_path / "s.log"],
    )
    lines = outputs["rejected"].read_text().splitlines()
    assert lines[0] == "path\treason\tdetail" and len(lines) == 2
    assert outputs["classes"].read_text().splitlines()[1] == "c\t8\t7\t1"
    stats = json.loads(outputs["chroma"].read_text())
    uv = np.load(out["UV"])[:5]  # manifest rows 0..5 (row 3 rejected) are training rows
    assert stats["pixels"] == 5 * 32 * 32
    assert stats["mean_u"] == pytest.approx(uv[:, 0].mean())


def test_console_stays_quiet_at_scale(tmp_path, run_script, capfd):
    """200 images of which 40 are rejected: a line or two on the console, every file in the log
    and the rejected table."""
    root = tmp_path / "data"
    entries = []
    for k in range(200):
        p = root / "c" / f"{k}.JPEG"
        if k % 5 == 0:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"not a jpeg")
        else:
            save_jpeg(p, 40, 48, seed=k)
        entries.append(Entry(f"c/{k}.JPEG", "c", 0))
    write_manifest(tmp_path / "m.tsv", entries, root)
    out = _run_prepare(
        run_script, tmp_path / "m.tsv", tmp_path / "s", tmp_path / "p.log", shard_size=200
    )
    console = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    assert len(console) <= 3, console
    assert "160 kept, 40 rejected (unreadable 40)" in console[-1]
    assert (tmp_path / "p.log").read_text().count("rejected row") == 40
    assert len(open(out["rejected"]).read().splitlines()) == 41


def test_sample_and_demo_scripts(tmp_path, run_script):
    demo = tmp_path / "demo"
    run_script(
        "demo",
        output={"ilsvrc": demo / "ILSVRC2012", "sun": demo / "SUN397"},
        params=dict(demo=dict(dataset="photos", train_per_source=2, test_per_source=2, seed=0)),
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
