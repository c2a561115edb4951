"""Every rule script, run with a stand-in ``snakemake`` object on tiny inputs
(workflow/scripts)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SIZE, make_manifest, make_sun_tree
from PIL import Image

from colorcnn.checkpoint import load_checkpoint
from colorcnn.config import HeadConfig, TrainConfig
from colorcnn.sampling import Entry, write_manifest
from colorcnn.shards import ShardFiles
from colorcnn.tables import (
    COLORIZED_COLUMNS,
    METRICS_COLUMNS,
    RESULT_COLUMNS,
    SCORE_COLUMNS,
    TEST_COLUMNS,
    append_row,
    read_frame,
    read_rooted,
    read_tsv,
    write_frame,
    write_tsv,
)
from colorcnn.testimages import natural_rgb, save_jpeg, write_shards


def _run_train_script(run_script, tmp_path, shards, backbone_file, *, gpus, threads, **train):
    y, uv, index = shards
    record = tmp_path / "weights.json"
    record.write_text(json.dumps({"description": "random (fallback: test)"}))
    settings = asdict(
        TrainConfig(
            batch_size=4,
            epochs=1,
            log_every=1,
            val_every=0,
            progress=False,
            loader_workers=-1,
            bf16=False,
            channels_last=False,
            **train,
        )
    )
    return run_script(
        "train",
        input={
            "Y": y,
            "UV": uv,
            "index": index,
            "backbone": backbone_file,
            "backbone_record": record,
        },
        output={
            "model": tmp_path / "model.pt",
            "metrics": tmp_path / "metrics.tsv",
            "summary": tmp_path / "summary.json",
        },
        params=dict(
            head=asdict(HeadConfig(a_channels=8, b_channels=4)),
            train=settings,
            gpus=gpus,
            n_train_rows=10**6,
            record={"variant": "paper", "seed": 2016},
        ),
        threads=threads,
        log=[tmp_path / "train.log"],
    )


def test_train_rule_script(tmp_path, run_script, backbone_file):
    shards = write_shards(tmp_path / "s", 8)
    _run_train_script(run_script, tmp_path, shards, backbone_file, gpus=0, threads=2)
    assert "random (fallback: test)" in (tmp_path / "metrics.tsv").read_text()
    assert len(list((tmp_path / "checkpoints").glob("*/last.pt"))) == 1  # beside the model
    ck = load_checkpoint(tmp_path / "model.pt")
    assert ck["head_config"]["a_channels"] == 8
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["image_size"] == 16 and summary["device"] == "cpu"
    assert summary["variant"] == "paper" and summary["seed"] == 2016


def test_train_rule_script_refuses_more_processes_than_gpus(tmp_path, run_script, backbone_file):
    shards = write_shards(tmp_path / "s", 8)
    with pytest.raises(RuntimeError, match="train.gpus is 2 but CUDA is unusable"):
        _run_train_script(run_script, tmp_path, shards, backbone_file, gpus=2, threads=1)
    assert not (tmp_path / "checkpoints").exists()


def _run_test_set(run_script, tmp_path, root, source, protocol):
    run_script(
        "test_set",
        input={"demo": []},
        output={
            k: tmp_path / f
            for k, f in (("table", "t.tsv"), ("rejected", "rej.tsv"), ("truth", "truth"))
        },  # fmt: skip
        params=dict(
            root=str(root),
            list_file="",
            n_per_category=2,
            seed=0,
            min_chroma=1.0,
            max_pixels=10**8,
            source=source,
            protocol=protocol,
        ),  # fmt: skip
        threads=2,
        log=[tmp_path / "t.log"],
    )


def test_test_set_colorize_score_and_score_baselines_scripts(tmp_path, run_script, checkpoint):
    root = make_sun_tree(tmp_path / "SUN397")
    _run_test_set(run_script, tmp_path, root, "sun397", "original")
    rroot, rows = read_rooted(tmp_path / "t.tsv", TEST_COLUMNS)
    assert rroot == root and len(rows) == 6
    assert "original" in (tmp_path / "truth" / "PROTOCOL.txt").read_text()
    run_script(
        "gray_inputs",
        input={"table": tmp_path / "t.tsv"},
        output={"images": tmp_path / "gray"},
        threads=2,
        log=[tmp_path / "g.log"],
    )
    assert len(list((tmp_path / "gray").rglob("*.png"))) == 6
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
        "score_baselines",
        input={"table": tmp_path / "t.tsv", "stats": tmp_path / "stats.json"},
        output={"scores": tmp_path / "base.tsv"},
        params={**params, "baselines": ["gray", "mean_chroma"]},
        **common,
    )
    model = pd.read_csv(tmp_path / "model.tsv", sep="\t")
    base = pd.read_csv(tmp_path / "base.tsv", sep="\t")
    assert len(model) == 6 and set(model["method"]) == {"model"} and set(model["seed"]) == {7}
    assert len(base) == 12 and set(base["method"]) == {"gray", "mean_chroma"}
    # an external system: the builtin stand-in's folder, then scored as another method's
    run_script(
        "external_builtin",
        input={"table": tmp_path / "t.tsv"},
        output={"images": tmp_path / "ext"},
        params={"method": "category_mean"},
        log=[tmp_path / "e.log"],
    )
    assert len(list((tmp_path / "ext").rglob("*.png"))) == 6
    run_script(
        "score_external",
        input={"table": tmp_path / "t.tsv", "outputs": tmp_path / "ext"},
        output={"scores": tmp_path / "ext.tsv"},
        params={**params, "resize": True, "listing": "x"},
        wildcards={"system": "category_mean"},
        **common,
    )
    ext = pd.read_csv(tmp_path / "ext.tsv", sep="\t")
    assert len(ext) == 6 and set(ext["method"]) == {"external"}
    assert set(ext["variant"]) == {"category_mean"} and (ext["qssim"] < 1).all()
    # a peer (ECCV16, random weights): its folder, then scored as an external system's
    run_script(
        "peer",
        input={"table": tmp_path / "t.tsv", "weights": []},
        output={"images": tmp_path / "peer", "record": tmp_path / "peer.json"},
        params={
            "network": "eccv16",
            "weights": "random",
            "batch_size": 4,
            "device": "cpu",
            "compression": 1,
        },  # fmt: skip
        threads=1,
        log=[tmp_path / "p.log"],
    )
    assert len(list((tmp_path / "peer").rglob("*.png"))) == 6
    record = json.loads((tmp_path / "peer.json").read_text())
    assert record["weights"] == "random" and record["images"] == 6
    assert "RANDOM weights" in (tmp_path / "p.log").read_text()


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
    make_manifest(tmp_path)
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
            source="ilsvrc",
            root=str(demo / "ILSVRC2012"),
            n_images=10,
            n_val_images=2,
            allow_fewer=False,
            seed=1,
        ),
        log=[tmp_path / "s.log"],
    )
    assert len((tmp_path / "m.tsv").read_text().splitlines()) == 12
    assert "wrote 10 entries" in (tmp_path / "s.log").read_text()


def _summary(variant, seed):
    """A run's summary.json as train writes it (the fields the results table reads)."""
    return {
        "variant": variant,
        "seed": seed,
        "backbone_weights": "random (fallback)",
        "provenance": {
            "backbone": "ab" * 32,
            "data": "cd" * 8,
            "head": asdict(HeadConfig()),
            "train": TrainConfig().trajectory(),
        },
        "n_train_images": 100,
        "n_val_images": 10,
        "image_size": 48,
        "epochs": 2,
        "steps": 6,
        "batch_size": 32,
        "code_version": "0.1.0+git.test",
    }


def test_study_figure_and_results_table_scripts(tmp_path, run_script, scores):
    """study → every figure rule's script → results_table, on the score tables of a
    two-variant, two-seed study."""
    d = tmp_path
    scores = scores[list(SCORE_COLUMNS)]
    runs = []
    for (variant, seed), part in scores[scores["method"] == "model"].groupby(["variant", "seed"]):
        runs.append((variant, int(seed), d / f"{variant}{int(seed)}.tsv"))
        write_frame(part, runs[-1][2], SCORE_COLUMNS)
    write_frame(scores[scores["method"] != "model"], d / "baselines.tsv", SCORE_COLUMNS)
    ext = scores[scores["method"] == "gray"].assign(method="external", variant="ext")
    write_frame(ext.assign(qssim=ext["qssim"] + 0.01), d / "ext.tsv", SCORE_COLUMNS)
    study = {
        k: d / f"study_{k}.tsv" for k in ("scores", "claims", "summary", "seeds", "by_category")
    }
    run_script(
        "study",
        input={
            "runs": [p for *_, p in runs],
            "baselines": d / "baselines.tsv",
            "external": [d / "ext.tsv"],
            "lpips": [],  # LPIPS and FID off (score.perceptual)
            "fid": [],
        },
        output=study,
        params={
            "claims": {"paper": "", "mse": "cross-entropy beats mse"},
            "external_claims": {"ext": ""},
            "reference": "paper",
            "n_boot": 200,
        },
        log=[d / "study.log"],
    )
    claims = read_frame(study["claims"])
    assert list(claims["comparison"])[:3] == ["paper − gray", "paper − mean_chroma", "paper − mse"]
    assert {"paper − ext", "ext − gray"} <= set(claims["comparison"])
    assert len(read_frame(study["scores"])) == len(scores) + len(ext)
    figs = d / "figures"
    run_script(
        "figure_scores",
        input={"scores": study["scores"]},
        output={k: figs / f"{k}.png" for k in ("qssim", "seeds", "vs_gray", "colourfulness")},
        params={"reference": "paper"},
        log=[d / "fs.log"],
    )
    run_script(
        "figure_claims",
        input={"claims": study["claims"]},
        output=[figs / "d.png"],
        log=[d / "fc.log"],
    )
    run_script(
        "figure_categories",
        input={"by_category": study["by_category"]},
        output=[figs / "cat.png"],
        params={"reference": "paper"},
        log=[d / "fk.log"],
    )
    metrics = []
    for variant, seed, _ in runs:
        path = d / f"metrics_{variant}{seed}.tsv"
        for step in (1, 2, 3):
            row = {
                "step": step,
                "epoch": 0,
                "loss": 0.7,
                "val_loss": "",
                "lr": 0.08,
                "images_per_s": 10,
                "backbone_weights": "random",
            }
            append_row(path, METRICS_COLUMNS, row)
        metrics.append(path)
    run_script(
        "figure_training",
        input={"metrics": metrics},
        output=[figs / "t.png"],
        params={"runs": [{"variant": v, "seed": s} for v, s, _ in runs]},
        log=[d / "ft.log"],
    )
    # the examples of one run: originals and its PNGs
    root = d / "SUN397"
    images = sorted(scores["image"].unique())
    for k, image in enumerate(images):
        (root / image).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(natural_rgb(30, 40, k)).save(root / image, format="PNG")
        Image.fromarray(natural_rgb(30, 40, k + 50)).save(d / f"col{k}.png")
    write_tsv(
        d / "test.tsv", TEST_COLUMNS, [(i, i.split("/")[0], 40, 30) for i in images], {"root": root}
    )
    write_tsv(
        d / "col.tsv", COLORIZED_COLUMNS, [(i, d / f"col{k}.png") for k, i in enumerate(images)]
    )
    run_script(
        "figure_examples",
        input={
            "scores": runs[0][2],
            "baselines": d / "baselines.tsv",
            "table": d / "test.tsv",
            "colorized": d / "col.tsv",
        },
        output=[figs / "ex.png"],
        log=[d / "fe.log"],
    )
    assert sorted(p.name for p in figs.iterdir()) == sorted(
        [
            "qssim.png",
            "seeds.png",
            "vs_gray.png",
            "colourfulness.png",
            "d.png",
            "cat.png",
            "t.png",
            "ex.png",
        ]
    )
    (d / "stats.json").write_text('{"mean_u": 120.0, "mean_v": 135.0, "pixels": 1}')
    for k, image in enumerate(images):  # the external system's outputs, x.jpg as x.png
        (d / "ext" / image).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(natural_rgb(30, 40, k + 70)).save((d / "ext" / image).with_suffix(".png"))
    run_script(
        "gallery",
        input={
            "scores": study["scores"],
            "claims": study["claims"],
            "table": d / "test.tsv",
            "stats": d / "stats.json",
            "colorized": [d / "col.tsv", d / "col.tsv"],
            "external": [d / "ext"],
        },
        output=[d / "gallery"],
        params={
            "variants": ["paper", "mse"],
            "externals": ["ext"],
            "thumb_size": 32,
            "view_size": 0,
            "per_page": 4,
            "title": "test",
        },
        threads=2,
        log=[d / "g.log"],
    )
    assert len(list((d / "gallery" / "thumbs").glob("*/*.jpg"))) == 12 * 6
    assert len(list((d / "gallery" / "thumbs" / "ext").glob("*.jpg"))) == 12
    assert Image.open(d / "gallery" / "views" / "truth" / "0.jpg").size == (40, 30)  # own size
    for name, (variant, seed, _) in zip("ab", runs[:2], strict=True):
        (d / f"{name}.json").write_text(json.dumps(_summary(variant, seed)))
    out = {k: d / f"results.{k}" for k in ("html", "md", "tsv")}
    (d / "eccv16").mkdir()  # the peer rule's record of its weights
    record = {"network": "eccv16", "weights": "/m/e-9b330a0b.pth", "sha256": "9b330a0b" + "0" * 56,
              "verified": "SHA-256 prefix 9b330a0b of its name"}  # fmt: skip
    (d / "eccv16" / "weights.json").write_text(json.dumps(record))
    run_script(
        "results_table",
        input={k: study[k] for k in ("claims", "summary", "seeds")}
        | {"runs": [d / "a.json", d / "b.json"], "peers": [d / "eccv16" / "weights.json"]},
        output=out,
        params={"settings": {"test source": "demo (photos)", "peer eccv16": "eccv16, weights w"}},
        log=[d / "rt.log"],
    )
    md = out["md"].read_text()
    assert md.startswith("## The paper's claims") and "| test source | demo (photos) |" in md
    assert "| peer eccv16 | eccv16, weights /m/e-9b330a0b.pth (sha256 9b330a0b00000000, " in md
    assert "T = input+conv1_2+conv2_2+conv3_3 (451 channels); Q = 128 (3x3) + 16 (1x1)" in md
    assert list(read_frame(out["tsv"]).columns) == list(RESULT_COLUMNS)


def test_test_set_script_under_an_imagenet_val_protocol(tmp_path, run_script):
    from test_testset import make_val_folder

    root = make_val_folder(tmp_path / "val")
    _run_test_set(run_script, tmp_path, root, "imagenet_val", "val50k")
    rroot, rows = read_rooted(tmp_path / "t.tsv", TEST_COLUMNS)
    assert rroot == (tmp_path / "truth").resolve() and len(rows) == 6
    assert all((rroot / r["path"]).exists() for r in rows)
    assert "1 of them gray" in (tmp_path / "t.log").read_text()
