"""Colorizing at any resolution, the SUN397 test sampler, scoring, and their scripts and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from colorcnn.checkpoint import save_checkpoint
from colorcnn.cli import main
from colorcnn.color import rgb_to_yuv
from colorcnn.colorize import Colorizer, collect_inputs, colorize_files, output_name
from colorcnn.config import HeadConfig
from colorcnn.evaluate import BASELINES, ScoreJob, baseline_rgb, score_image
from colorcnn.model import ColorizationNet
from colorcnn.synthetic import natural_rgb, save_jpeg
from colorcnn.tables import COLORIZED_COLUMNS, TEST_COLUMNS, read_rooted, read_tsv
from colorcnn.testset import list_sun, sample_test_set, sun_category

SIZE = 32


def small_model(zero_output=False):
    from torchvision.models import vgg16

    torch.manual_seed(0)
    m = ColorizationNet(vgg16(weights=None).features, HeadConfig(a_channels=4, b_channels=2))
    if zero_output:  # UV = 127.5 everywhere: colorized = the input gray, Y preserved
        torch.nn.init.zeros_(m.head.out.weight)
        torch.nn.init.zeros_(m.head.out.bias)
    return m.eval()


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, small_model(), step=0, config={"image_size": SIZE})
    return path


def write_inputs(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "small": save_jpeg(d / "small.jpg", 37, 53),
        "big": save_jpeg(d / "big.jpg", 2000, 3000),
    }
    Image.fromarray(natural_rgb(40, 60)).convert("L").save(d / "gray.png")
    rgba = Image.fromarray(natural_rgb(40, 60)).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.arange(60, dtype=np.uint8) * 4, (40, 1))))
    rgba.save(d / "rgba.png")
    Image.fromarray(np.linspace(0, 65535, 2400).reshape(40, 60).astype(np.uint16)).save(
        d / "sixteen.png"
    )
    Image.fromarray(natural_rgb(40, 60)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        d / "palette.png"
    )
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files.update({k: d / f"{k}.png" for k in ("gray", "rgba", "sixteen", "palette")})
    files["corrupt"] = d / "corrupt.jpg"
    return files


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


def test_cli_refuses_colliding_inputs_before_loading_the_model(tmp_path, capsys):
    for k in ("one", "two"):
        save_jpeg(tmp_path / k / "photo.jpg", 30, 40)
    args = [
        "colorize",
        str(tmp_path / "one" / "photo.jpg"),
        str(tmp_path / "two" / "photo.jpg"),
        "-o",
        str(tmp_path / "out"),
        "--checkpoint",
        str(tmp_path / "nonexistent.pt"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "photo.jpg.png: " in err and "one/photo.jpg" in err and "two/photo.jpg" in err
    assert not (tmp_path / "out").exists()


def test_cli_colorize_exit_codes_and_early_output_checks(tmp_path, checkpoint, capsys):
    write_inputs(tmp_path / "in")
    good, bad = str(tmp_path / "in" / "small.jpg"), str(tmp_path / "in" / "corrupt.jpg")
    base = ["-o", str(tmp_path / "out"), "--checkpoint", str(checkpoint), "--quiet"]
    assert main(["colorize", good, *base]) == 0
    assert Image.open(tmp_path / "out" / "small.jpg.png").size == (53, 37)
    assert main(["colorize", good, bad, *base]) == 1  # some inputs failed
    out = capsys.readouterr()
    assert "wrote 1 images" in out.out and "1 failed" in out.out and "corrupt.jpg" in out.err
    (tmp_path / "afile").write_text("")
    nothing = ["--checkpoint", str(tmp_path / "nonexistent.pt"), "--quiet"]
    assert main(["colorize", good, "-o", str(tmp_path / "afile"), *nothing]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    unwritable = Path("/proc/colorcnn-out")  # not even root can create folders in /proc
    assert main(["colorize", good, "-o", str(unwritable), *nothing]) == 2
    assert "cannot write to the output folder /proc/colorcnn-out" in capsys.readouterr().err


def test_cli_score(tmp_path, capsys):
    Image.fromarray(natural_rgb(40, 60)).save(tmp_path / "a.png")
    assert main(["score", str(tmp_path / "a.png"), str(tmp_path / "a.png")]) == 0
    out = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert float(out["qssim"]) == 1.0 and out["psnr"] == "inf"


def make_sun_tree(root: Path) -> Path:
    for cat in ("a/abbey", "b/bedroom", "a/apartment_building/outdoor"):
        for k in range(4):
            save_jpeg(root / cat / f"sun_{cat.replace('/', '_')}_{k}.jpg", 40, 50, seed=k)
    Image.fromarray(natural_rgb(40, 50)).convert("L").save(
        root / "a/abbey/sun_gray.jpg", format="JPEG"
    )
    (root / "b/bedroom/sun_broken.jpg").write_text("nope")
    Image.fromarray(natural_rgb(40, 50)).save(root / "b/bedroom/sun_png.jpg", format="PNG")
    return root


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


def test_baselines_and_score_image(tmp_path):
    gt = natural_rgb(60, 80)
    Image.fromarray(gt).save(tmp_path / "gt.png")
    Image.fromarray(gt).save(tmp_path / "perfect.png")
    y = rgb_to_yuv(gt)[..., 0]
    gray = baseline_rgb("gray", y)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    stats = {"mean_u": 120.0, "mean_v": 140.0}
    model = ScoreJob(
        "gt.png",
        "c",
        str(tmp_path / "gt.png"),
        prediction=str(tmp_path / "perfect.png"),
        run={"variant": "paper", "seed": 1},
    )
    [row] = score_image(model)
    assert row["method"] == "model" and row["variant"] == "paper" and row["seed"] == 1
    assert row["qssim"] == pytest.approx(1.0) and row["psnr"] == np.inf
    base = ScoreJob("gt.png", "c", str(tmp_path / "gt.png"), baselines=BASELINES, stats=stats)
    rows = {r["method"]: r for r in score_image(base)}
    assert set(rows) == {"gray", "mean_chroma"} and rows["gray"]["variant"] == ""
    assert 0.5 < rows["gray"]["qssim"] < 1.0 and rows["gray"]["colourfulness"] == 0.0
    assert rows["gray"]["colourfulness_gap"] == pytest.approx(-rows["gray"]["colourfulness_gt"])
    small = {
        r["method"]: r
        for r in score_image(ScoreJob(**{**base.__dict__, "resolution": "model", "model_size": 32}))
    }
    assert small["gray"]["width"] == 80 and small["gray"]["qssim"] != rows["gray"]["qssim"]
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_rgb("sepia", y)


def test_a_failing_image_is_named(tmp_path):
    save_jpeg(tmp_path / "gt.jpg", 40, 50)
    Image.fromarray(natural_rgb(20, 20)).save(tmp_path / "wrong.png")
    job = ScoreJob(
        "a/abbey/gt.jpg", "abbey", str(tmp_path / "gt.jpg"), prediction=str(tmp_path / "wrong.png")
    )
    with pytest.raises(ValueError, match=r"scoring a/abbey/gt.jpg .* size \(20, 20, 3\) differs"):
        score_image(job)


def test_test_set_colorize_and_score_scripts(tmp_path, run_script, checkpoint):
    root = make_sun_tree(tmp_path / "SUN397")
    run_script(
        "test_set",
        input={"demo": []},
        output={"table": tmp_path / "t.tsv", "rejected": tmp_path / "rej.tsv"},
        params=dict(
            root=str(root), list_file="", n_per_category=2, seed=0, min_chroma=1.0, max_pixels=10**8
        ),
        threads=2,
        log=[tmp_path / "t.log"],
    )
    rroot, rows = read_rooted(tmp_path / "t.tsv", TEST_COLUMNS)
    assert rroot == root and len(rows) == 6
    run_script(
        "colorize",
        input={"table": tmp_path / "t.tsv", "model": checkpoint},
        output={"images": tmp_path / "col", "index": tmp_path / "col.tsv"},
        params=dict(size=SIZE, batch_size=4, alpha="drop", compression=1, device="cpu"),
        threads=1,
        log=[tmp_path / "c.log"],
    )
    _, idx = read_tsv(tmp_path / "col.tsv", COLORIZED_COLUMNS)
    assert len(idx) == 6 and all(Path(r["png"]).exists() for r in idx)
    assert all(r["png"].endswith(r["image"] + ".png") for r in idx)
    common = dict(threads=2, log=[tmp_path / "s.log"])
    params = dict(resolution="original", model_size=SIZE)
    run_script(
        "score",
        input={"table": tmp_path / "t.tsv", "colorized": tmp_path / "col.tsv"},
        output={"scores": tmp_path / "model.tsv"},
        params={**params, "run": {"variant": "paper", "seed": 7}},
        **common,
    )
    (tmp_path / "stats.json").write_text('{"mean_u": 128.0, "mean_v": 128.0, "pixels": 1}')
    run_script(
        "score",
        input={"table": tmp_path / "t.tsv", "stats": tmp_path / "stats.json"},
        output={"scores": tmp_path / "base.tsv"},
        params={**params, "run": {}},
        **common,
    )
    model = pd.read_csv(tmp_path / "model.tsv", sep="\t")
    base = pd.read_csv(tmp_path / "base.tsv", sep="\t")
    assert len(model) == 6 and set(model["method"]) == {"model"} and set(model["seed"]) == {7}
    assert len(base) == 12 and set(base["method"]) == {"gray", "mean_chroma"}
