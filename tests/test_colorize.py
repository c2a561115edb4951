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


def test_the_pipeline_writes_what_one_image_at_a_time_gives(tmp_path):
    """Decoding and PNG writing overlap the network (threads); the pixels are those of the
    plain sequence decode → network → recombination, image by image, in any batch size."""
    from colorcnn.colorize import decode_for_colorize

    for k in range(5):
        save_jpeg(tmp_path / "in" / f"p{k}.jpg", 30 + 7 * k, 50 - 3 * k, seed=k)
    pairs = collect_inputs([tmp_path / "in"])
    col = Colorizer(small_model(), SIZE)
    for batch_size in (1, 2, 8):
        res = colorize_files(
            col, pairs, tmp_path / f"b{batch_size}", batch_size=batch_size, progress=False
        )
        assert res["written"] == [str(tmp_path / f"b{batch_size}" / rel) for _, rel in pairs]
        for src, rel in pairs:
            want = col.colorize_arrays([decode_for_colorize(src).y])[0]
            got = np.asarray(Image.open(tmp_path / f"b{batch_size}" / rel))
            np.testing.assert_array_equal(got, want)


def test_an_output_that_cannot_be_written_is_a_failure_and_the_rest_is_written(tmp_path):
    for k in range(3):
        save_jpeg(tmp_path / "in" / f"p{k}.jpg", 30, 40, seed=k)
    (tmp_path / "out" / "p1.jpg.png").mkdir(parents=True)  # a folder where a PNG goes
    pairs = collect_inputs([tmp_path / "in"])
    res = colorize_files(Colorizer(small_model(), SIZE), pairs, tmp_path / "out", progress=False)
    assert [Path(p).name for p in res["written"]] == ["p0.jpg.png", "p2.jpg.png"]
    assert [(Path(p).name, "cannot write" in why) for p, why in res["failed"]] == [("p1.jpg", True)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "p0.jpg.png",
        "p1.jpg.png",
        "p2.jpg.png",
    ]  # no temporary file left behind


def test_colorize_with_the_gpu_settings_forced_on_the_cpu(tmp_path):
    """bf16 autocast and torch.compile, as a GPU run of colorize may use them, through the
    whole pipeline: Y kept, colours within a few levels of float32, no recompile per batch."""
    import torch
    from torch._dynamo.utils import counters

    for k in range(4):
        save_jpeg(tmp_path / "in" / f"p{k}.jpg", 30 + 7 * k, 50 - 3 * k, seed=k)
    pairs = collect_inputs([tmp_path / "in"])
    model = small_model()
    ref = colorize_files(Colorizer(model, SIZE), pairs, tmp_path / "f32", progress=False)
    torch._dynamo.reset()
    counters.clear()
    gpu = Colorizer(model, SIZE, "cpu", bf16=True, compile=True)
    res = colorize_files(gpu, pairs, tmp_path / "gpu", batch_size=2, progress=False)
    assert len(res["written"]) == len(ref["written"]) == 4
    # compiled once, for two batches, without graph breaks
    assert counters["stats"]["unique_graphs"] == 1 and not counters["graph_break"]
    for _, rel in pairs:
        a = np.asarray(Image.open(tmp_path / "f32" / rel)).astype(int)
        b = np.asarray(Image.open(tmp_path / "gpu" / rel)).astype(int)
        assert np.abs(a - b).max() <= 3
        ya = rgb_to_yuv(a.astype(np.uint8))[..., 0]
        yb = rgb_to_yuv(b.astype(np.uint8))[..., 0]
        assert np.abs(ya - yb).mean() < 0.5
