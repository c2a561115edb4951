"""Decoding: every kind of bad or odd file becomes a rejection with a reason; sizes, modes,
EXIF (colorcnn.images)."""

import io

import numpy as np
import pytest
from PIL import Image

from colorcnn.config import PrepareOptions
from colorcnn.images import ImageRejected, load_rgb, open_image, resize_to_model
from colorcnn.shards import convert_image
from colorcnn.testimages import natural_rgb, save_jpeg

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


def test_a_malformed_exif_is_a_rejection_not_a_crash(tmp_path):
    """A numeric EXIF tag stored as text beside an orientation made exif_transpose raise
    struct.error, outside every except clause: prepare, test_set and the CLI died."""
    from colorcnn.testimages import save_bad_exif_jpeg

    path = save_bad_exif_jpeg(tmp_path / "bad.jpg")
    for draft in (None, (16, 16)):
        try:
            im = open_image(path, draft_size=draft)
        except ImageRejected as e:
            assert e.reason == "unreadable" and "error" in e.detail, e
        else:
            assert im.size == (40, 60)  # rotated by its orientation (6: 90 degrees)


def _mutations(rng, data: bytes, n: int):
    for _ in range(n):
        b = bytearray(data)
        kind = rng.integers(3)
        if kind == 0:  # flip bytes
            for i in rng.integers(0, len(b), rng.integers(1, 12)):
                b[i] = rng.integers(256)
        elif kind == 1:  # cut
            b = b[: rng.integers(1, len(b))]
        else:  # splice a block elsewhere
            i, j = sorted(rng.integers(0, len(b), 2))
            k = rng.integers(0, len(b))
            b[k:k] = b[i:j]
        yield bytes(b)


def test_seeded_fuzz_every_decode_failure_is_a_rejection_with_a_reason(tmp_path):
    """Mutated JPEG (with EXIF), PNG, GIF, TIFF and WebP files through every decode path:
    each one decodes or is rejected with a reason; no other exception escapes."""
    from colorcnn.colorize import decode_for_colorize
    from colorcnn.images import load_rgb
    from colorcnn.testimages import exif_segment

    rng = np.random.default_rng(2016)
    im = Image.fromarray(natural_rgb(24, 32, 1))
    seeds = {}
    for fmt, kw in (
        ("JPEG", {"exif": exif_segment([(0x0112, 3, 1, 3)]), "quality": 80}),
        ("PNG", {}),
        ("GIF", {}),
        ("TIFF", {}),
        ("WEBP", {"quality": 80}),
    ):
        buf = io.BytesIO()
        im.save(buf, format=fmt, **kw)
        seeds[fmt] = buf.getvalue()
    escaped, reasons = [], set()
    for fmt, data in seeds.items():
        for k, mutated in enumerate(_mutations(rng, data, 60)):
            path = tmp_path / f"{fmt}-{k}.img"
            path.write_bytes(mutated)
            for decode in (
                lambda p: open_image(p),
                lambda p: open_image(p, draft_size=(8, 8)),
                lambda p: load_rgb(p, draft_size=(8, 8)),
                decode_for_colorize,
            ):
                try:
                    decode(path)
                except ImageRejected as e:
                    reasons.add(e.reason)
                except Exception as e:  # noqa: BLE001 - the point of the test
                    escaped.append(f"{path.name}: {type(e).__name__}: {e}")
    assert not escaped, escaped[:10]
    assert "unreadable" in reasons
