"""Scoring: the model's PNG and the baselines on one image, errors that name it
(colorcnn.scoring)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from colorcnn.color import rgb_to_yuv
from colorcnn.scoring import ScoreJob, score_image
from colorcnn.systems import BASELINES, baseline_rgb
from colorcnn.testimages import natural_rgb, save_jpeg


def test_the_model_and_the_baselines_are_scored_against_the_original(tmp_path):
    gt = natural_rgb(60, 80)
    Image.fromarray(gt).save(tmp_path / "gt.png")
    Image.fromarray(gt).save(tmp_path / "perfect.png")
    y = rgb_to_yuv(gt)[..., 0]
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
    base = ScoreJob(
        "gt.png", "c", str(tmp_path / "gt.png"), baselines=tuple(BASELINES), stats=stats
    )
    rows = {r["method"]: r for r in score_image(base)}
    assert set(rows) == {"gray", "mean_chroma"} and rows["gray"]["variant"] == ""
    # each baseline is scored on its own RGB (the same functions as the model's PNG)
    for name, r in rows.items():
        Image.fromarray(baseline_rgb(name, y, stats)).save(tmp_path / f"{name}.png")
        job = ScoreJob(
            "gt.png", "c", str(tmp_path / "gt.png"), prediction=str(tmp_path / f"{name}.png")
        )
        [as_png] = score_image(job)
        assert as_png["qssim"] == pytest.approx(r["qssim"], abs=1e-12), name
    assert 0.5 < rows["gray"]["qssim"] < 1.0 and rows["gray"]["colourfulness"] == 0.0
    assert rows["gray"]["colourfulness_gap"] == pytest.approx(-rows["gray"]["colourfulness_gt"])
    # the literature's metrics: CF on absolute values, its gaps, CIEDE2000
    assert rows["gray"]["cf"] == 0.0 and rows["gray"]["cf_abs_gap"] == rows["gray"]["cf_gt"] > 0
    assert rows["gray"]["cf_gap"] == -rows["gray"]["cf_gt"]
    assert row["delta_e00"] == pytest.approx(0.0, abs=1e-9)
    assert rows["gray"]["delta_e00"] > 1.0
    small = {
        r["method"]: r
        for r in score_image(ScoreJob(**{**base.__dict__, "resolution": "model", "model_size": 32}))
    }
    assert small["gray"]["width"] == 80 and small["gray"]["qssim"] != rows["gray"]["qssim"]


def test_a_failing_image_is_named(tmp_path):
    save_jpeg(tmp_path / "gt.jpg", 40, 50)
    Image.fromarray(natural_rgb(20, 20)).save(tmp_path / "wrong.png")
    job = ScoreJob(
        "a/abbey/gt.jpg", "abbey", str(tmp_path / "gt.jpg"), prediction=str(tmp_path / "wrong.png")
    )
    expected = r"scoring a/abbey/gt.jpg .* size 20x20 differs from the original's 50x40"
    with pytest.raises(ValueError, match=expected):
        score_image(job)


def _blas_parallelism_of_a_worker(_):
    """The env a worker sees and the CPU time per wall time of its matrix products."""
    import time

    a = np.random.default_rng(0).random((1200, 1200))
    _ = a @ a  # warm
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(3):
        _ = a @ a
    return os.environ.get("OMP_NUM_THREADS"), (time.process_time() - cpu) / (
        time.perf_counter() - wall
    )


def test_each_scoring_process_uses_one_blas_thread(monkeypatch):
    """Snakemake sets OMP_NUM_THREADS to the job's threads; a pool of that many processes
    must not run that many BLAS threads each (12 threads were seen on 2 cores). A worker
    forked from a process whose numpy already runs several BLAS threads computes on one."""
    from colorcnn.scoring import worker_pool

    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    with worker_pool(1) as pool:
        env, parallelism = pool.submit(_blas_parallelism_of_a_worker, 0).result()
    assert env == "1" and parallelism < 1.3, parallelism
    assert os.environ["OMP_NUM_THREADS"] == "4"  # the parent's setting is left alone
