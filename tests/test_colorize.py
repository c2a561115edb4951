"""Colorizing at any resolution: modes, alpha, a corrupt file mid-batch, injective output names
(colorcnn.colorize)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import SIZE, small_model, write_inputs
from PIL import Image

from colorcnn.color import rgb_to_yuv
from colorcnn.colorize import Colorizer, collect_inputs, colorize_files, output_name
from colorcnn.testimages import natural_rgb, save_jpeg


def test_any_resolution_and_mode_and_a_corrupt_file_mid_batch(tmp_path):
    files = write_inputs(tmp_path / "in")
    pairs = collect_inputs([tmp_path / "in"])
    assert [p.name for p, _ in pairs][:2] == ["big.jpg", "corrupt.jpg"]  # corrupt is mid-batch
    res = colorize_files(
        Colorizer(small_model(True), SIZE), pairs, tmp_path / "out", batch_size=3, progress=False
    )
    assert len(res["written"]) == 6
    assert [Path(p).name for p, _ in res["failed"]] == ["corrupt.jpg"]
    for name in ("small", "big", "rgba", "palette"):
        src = np.asarray(Image.open(files[name]).convert("RGB"), dtype=float)
        out = np.asarray(Image.open(tmp_path / "out" / output_name(files[name].name)))
        assert out.shape == src.shape, name  # original resolution, not the model's
        y = rgb_to_yuv(src)[..., 0]
        assert np.abs(out.astype(float) - y[..., None]).max() <= 2.0, name  # its own Y
    assert np.asarray(Image.open(tmp_path / "out" / "gray.png.png")).shape == (40, 60, 3)
    sixteen = np.asarray(Image.open(tmp_path / "out" / "sixteen.png.png"))
    assert sixteen.shape == (40, 60, 3) and sixteen.max() >= 254


def test_alpha_kept_or_dropped(tmp_path):
    write_inputs(tmp_path / "in")
    col = Colorizer(small_model(True), SIZE)
    rgba = [(tmp_path / "in" / "rgba.png", Path("rgba.png"))]
    colorize_files(col, rgba, tmp_path / "drop", progress=False)
    colorize_files(col, rgba, tmp_path / "keep", alpha="keep", progress=False)
    assert Image.open(tmp_path / "drop" / "rgba.png").mode == "RGB"
    kept = Image.open(tmp_path / "keep" / "rgba.png")
    assert kept.mode == "RGBA"
    np.testing.assert_array_equal(
        np.asarray(kept)[..., 3], np.asarray(Image.open(tmp_path / "in" / "rgba.png"))[..., 3]
    )


def test_output_names_are_injective(tmp_path):
    """sun_x.jpg and sun_x.png in one folder get two outputs (the old names collided)."""
    d = tmp_path / "in" / "a" / "abbey"
    save_jpeg(d / "sun_x.jpg", 30, 40, seed=1)
    Image.fromarray(natural_rgb(30, 40, seed=2)).save(d / "sun_x.png")
    pairs = collect_inputs([tmp_path / "in"])
    assert sorted(str(rel) for _, rel in pairs) == [
        "a/abbey/sun_x.jpg.png",
        "a/abbey/sun_x.png.png",
    ]
    res = colorize_files(Colorizer(small_model(), SIZE), pairs, tmp_path / "out", progress=False)
    assert len(res["written"]) == len(set(res["written"])) == 2
