"""Colorizing at any resolution, the SUN397 test sampler, scoring, and their rule scripts."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import natural_rgb, save_jpeg
from PIL import Image

from colorcnn.color import rgb_to_yuv
from colorcnn.colorize import Colorizer, collect_inputs, colorize_files
from colorcnn.evaluate import (
    ScoreJob,
    baseline_rgb,
    bootstrap_ci,
    chroma_stats,
    score_image,
    summarize,
)
from colorcnn.model import HeadConfig, build_model
from colorcnn.sampling import list_sun, read_table, sample_test_set, sun_category
from colorcnn.train import save_checkpoint

SIZE = 32


def gray_predicting_model():
    """A network whose output is exactly UV = 127.5: colorized = input gray, Y preserved."""
    torch.manual_seed(0)
    m = build_model(HeadConfig(a_channels=4, b_channels=2), "random")
    torch.nn.init.zeros_(m.head.out.weight)
    torch.nn.init.zeros_(m.head.out.bias)
    return m


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(1)
    m = build_model(HeadConfig(a_channels=4, b_channels=2), "random")
    path = tmp_path / "model.pt"
    save_checkpoint(path, m, None, None, 0, 0, {"image_size": SIZE})
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
    Image.fromarray(np.linspace(0, 65535, 40 * 60).reshape(40, 60).astype(np.uint16)).save(
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
    col = Colorizer(gray_predicting_model(), SIZE)
    res = colorize_files(col, pairs, tmp_path / "out", batch_size=3, progress=False)
    assert len(res["written"]) == 6
    assert [Path(p).name for p, _ in res["failed"]] == ["corrupt.jpg"]
    for name in ("small", "big", "rgba", "palette"):
        src = np.asarray(Image.open(files[name]).convert("RGB"), dtype=float)
        out = np.asarray(Image.open(tmp_path / "out" / f"{name}.png"))
        assert out.shape == src.shape, name  # original resolution, not the model's
        y = rgb_to_yuv(src)[..., 0]
        # UV = 127.5 everywhere: the output is the input's own Y, to rounding.
        assert np.abs(out.astype(float) - y[..., None]).max() <= 2.0, name
    gray_out = np.asarray(Image.open(tmp_path / "out" / "gray.png"))
    assert gray_out.shape == (40, 60, 3)
    sixteen = np.asarray(Image.open(tmp_path / "out" / "sixteen.png"))
    assert sixteen.shape == (40, 60, 3) and sixteen.max() >= 254


def test_alpha_kept_or_dropped(tmp_path):
    write_inputs(tmp_path / "in")
    col = Colorizer(gray_predicting_model(), SIZE)
    rgba = [(tmp_path / "in" / "rgba.png", Path("rgba.png"))]
    colorize_files(col, rgba, tmp_path / "drop", progress=False)
    colorize_files(col, rgba, tmp_path / "keep", alpha="keep", progress=False)
    assert Image.open(tmp_path / "drop" / "rgba.png").mode == "RGB"
    kept = Image.open(tmp_path / "keep" / "rgba.png")
    assert kept.mode == "RGBA"
    np.testing.assert_array_equal(
        np.asarray(kept)[..., 3], np.asarray(Image.open(tmp_path / "in" / "rgba.png"))[..., 3]
    )


def test_cli_colorize(tmp_path, checkpoint, capsys):
    from colorcnn.cli import main

    write_inputs(tmp_path / "in")
    rc = main(
        [
            "colorize",
            str(tmp_path / "in" / "small.jpg"),
            str(tmp_path / "in" / "corrupt.jpg"),
            "-o",
            str(tmp_path / "out"),
            "--checkpoint",
            str(checkpoint),
            "--quiet",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "wrote 1 images" in captured.out and "skipped" in captured.err
    assert Image.open(tmp_path / "out" / "small.png").size == (53, 37)


def test_cli_score(tmp_path, capsys):
    from colorcnn.cli import main

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
    cats = list_sun(root)
    assert sorted(cats) == ["abbey", "apartment_building/outdoor", "bedroom"]
    (tmp_path / "Testing_01.txt").write_text("/a/abbey/sun_a_abbey_0.jpg\n/b/bedroom/sun_png.jpg\n")
    assert {c: len(v) for c, v in list_sun(root, tmp_path / "Testing_01.txt").items()} == {
        "abbey": 1,
        "bedroom": 1,
    }


def test_sun_sampler_replaces_rejected_candidates(tmp_path):
    root = make_sun_tree(tmp_path / "SUN397")
    rows, rejected = sample_test_set(root, 4, seed=3, threads=2)
    counts = pd.Series([r[1] for r in rows]).value_counts().to_dict()
    assert counts == {"abbey": 4, "bedroom": 4, "apartment_building/outdoor": 4}
    reasons = {Path(p).name: r for p, r, _ in rejected}
    assert reasons.get("sun_gray.jpg", "grayscale") == "grayscale"
    assert reasons.get("sun_broken.jpg", "unreadable") == "unreadable"
    rows5, rejected5 = sample_test_set(root, 5, seed=3)
    assert {Path(p).name: r for p, r, _ in rejected5} == {
        "sun_gray.jpg": "grayscale",
        "sun_broken.jpg": "unreadable",
    }
    # abbey: 4 usable + 1 gray; bedroom: 4 + the PNG named .jpg (usable); the sub-category: 4
    assert len(rows5) == 4 + 5 + 4
    assert all(r[2] == 50 and r[3] == 40 for r in rows5)
    assert sample_test_set(root, 5, seed=3) == (rows5, rejected5)


def test_baselines_and_score_image(tmp_path):
    gt = natural_rgb(60, 80)
    Image.fromarray(gt).save(tmp_path / "gt.png")
    Image.fromarray(gt).save(tmp_path / "perfect.png")
    y = rgb_to_yuv(gt)[..., 0]
    gray = baseline_rgb("gray", y)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    stats = {"mean_u": 120.0, "mean_v": 140.0}
    job = ScoreJob(
        "gt.png",
        "c",
        str(tmp_path / "gt.png"),
        {"model": str(tmp_path / "perfect.png")},
        "original",
        32,
        stats,
    )
    rows = {r["method"]: r for r in score_image(job)}
    assert set(rows) == {"gray", "mean_chroma", "model"}
    assert rows["model"]["qssim"] == pytest.approx(1.0) and rows["model"]["psnr"] == np.inf
    assert 0.5 < rows["gray"]["qssim"] < 1.0 and rows["gray"]["colourfulness"] == 0.0
    assert rows["gray"]["colourfulness_gap"] == pytest.approx(-rows["gray"]["colourfulness_gt"])
    small = {
        r["method"]: r for r in score_image(ScoreJob(**{**job.__dict__, "resolution": "model"}))
    }
    assert small["gray"]["width"] == 80 and small["gray"]["qssim"] != rows["gray"]["qssim"]
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_rgb("sepia", y)


def test_bootstrap_and_summary():
    rng = np.random.default_rng(0)
    v = rng.normal(0.8, 0.05, 200)
    lo, hi = bootstrap_ci(v)
    assert lo < v.mean() < hi and hi - lo < 0.03
    df = pd.DataFrame(
        {
            "method": ["a"] * 200 + ["b"] * 200,
            "category": "x",
            "qssim": np.r_[v, v + 0.1],
            "ssim": 0.5,
            "psnr": 20.0,
            "colourfulness": 10.0,
            "colourfulness_gap": -1.0,
        }
    )
    s = summarize(df, n_boot=500)
    assert list(s["method"]) == ["a", "b"] and (s["qssim_lo"] < s["qssim"]).all()
    assert summarize(df, ("method", "category"), n_boot=200).shape[0] == 2


def test_chroma_stats(tmp_path):
    uv = np.zeros((3, 2, 4, 4), np.uint8)
    uv[:, 0] = 100
    uv[:, 1] = 150
    np.save(tmp_path / "a.UV.npy", uv)
    np.save(tmp_path / "b.UV.npy", uv[:0])
    s = chroma_stats([tmp_path / "a.UV.npy", tmp_path / "b.UV.npy"])
    assert s == {"mean_u": 100.0, "mean_v": 150.0, "pixels": 48}


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
    rroot, rows = read_table(tmp_path / "t.tsv")
    assert rroot == root and len(rows) == 6
    run_script(
        "colorize",
        input={"table": tmp_path / "t.tsv", "model": checkpoint},
        output={"images": tmp_path / "col", "index": tmp_path / "col.tsv"},
        params=dict(size=SIZE, batch_size=4, alpha="drop", device="cpu"),
        threads=1,
        log=[tmp_path / "c.log"],
    )
    with open(tmp_path / "col.tsv") as f:
        idx = list(csv.DictReader(f, delimiter="\t"))
    assert len(idx) == 6 and all(Path(r["png"]).exists() for r in idx)
    np.save(tmp_path / "s.UV.npy", np.full((1, 2, 4, 4), 128, np.uint8))
    run_script(
        "chroma_stats",
        input={"UV": [tmp_path / "s.UV.npy"]},
        output=[tmp_path / "stats.json"],
        log=[tmp_path / "cs.log"],
    )
    run_script(
        "score",
        input={
            "table": tmp_path / "t.tsv",
            "index": tmp_path / "col.tsv",
            "stats": tmp_path / "stats.json",
        },
        output={
            "scores": tmp_path / "scores.tsv",
            "summary": tmp_path / "summary.tsv",
            "by_category": tmp_path / "bycat.tsv",
        },
        params=dict(resolution="original", model_size=SIZE, n_boot=200),
        threads=2,
        log=[tmp_path / "s.log"],
    )
    scores = pd.read_csv(tmp_path / "scores.tsv", sep="\t")
    assert len(scores) == 18 and set(scores["method"]) == {"model", "gray", "mean_chroma"}
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert {"qssim", "qssim_lo", "qssim_hi", "n"} <= set(summary.columns)
    assert len(pd.read_csv(tmp_path / "bycat.tsv", sep="\t")) == 9
