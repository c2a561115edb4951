"""The paper's network and the training loop."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import natural_rgb

import colorcnn.train as T
from colorcnn.color import rgb_to_y_uv_uint8
from colorcnn.model import (
    T_CHANNELS,
    BackboneUnavailable,
    HeadConfig,
    build_model,
    load_vgg16_features,
)
from colorcnn.train import BackboneConfig, RunPaths, TrainConfig, load_checkpoint, train

RANDOM = BackboneConfig("random", download=False)


def make_shards(d: Path, n: int, size: int = 16, per_shard: int = 5) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(math.ceil(n / per_shard)):
        m = min(per_shard, n - k * per_shard)
        ys, uvs = zip(
            *(rgb_to_y_uv_uint8(natural_rgb(size, size, seed=k * 100 + i)) for i in range(m)),
            strict=True,
        )
        np.save(d / f"shard-{k:05d}.Y.npy", np.stack(ys))
        np.save(d / f"shard-{k:05d}.UV.npy", np.stack(uvs))
        paths.append(d / f"shard-{k:05d}.Y.npy")
    return paths


def run_paths(d: Path) -> RunPaths:
    return RunPaths(d / "model.pt", d / "ckpt", d / "metrics.tsv")


def quiet(**kw) -> TrainConfig:
    base = dict(batch_size=4, log_every=1, progress=False, device="cpu")
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("h, w", [(16, 16), (32, 20), (36, 52)])
def test_hypercolumn_has_451_channels_and_q_144(h, w):
    torch.manual_seed(0)
    model = build_model(HeadConfig(), "random")
    y = torch.rand(2, 1, h, w) * 255
    t = model.hypercolumn(y)
    assert t.shape == (2, T_CHANNELS, h, w) and T_CHANNELS == 451
    logits, q = model.head(t, return_q=True)
    assert q.shape == (2, 144, h, w) and logits.shape == (2, 2, h, w)
    uv = model.predict_uv(y)
    assert uv.min() >= 0 and uv.max() <= 255


def test_input_size_must_be_divisible_by_4():
    model = build_model(HeadConfig(), "random")
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.zeros(1, 1, 18, 16))


def test_head_config_is_validated():
    with pytest.raises(ValueError, match="model.a_kernel must be an odd"):
        HeadConfig(a_kernel=2)
    with pytest.raises(ValueError, match="model.norm"):
        HeadConfig(norm="layer")
    assert HeadConfig(a_channels=100, b_channels=44).q_channels == 144


def test_train_config_is_validated():
    with pytest.raises(ValueError, match="train.lr has an invalid value"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="train.loss must be"):
        TrainConfig(loss="l1")


def test_imagenet_weights_fail_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(BackboneUnavailable, match=r"vgg16-397923af\.pth.*backbone_weights"):
        build_model(HeadConfig(), "imagenet", download=False)

    def offline(*a, **k):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(BackboneUnavailable, match="download failed.*unreachable"):
        build_model(HeadConfig(), "imagenet", download=True)
    model = build_model(HeadConfig(), "imagenet", download=True, allow_random_fallback=True)
    assert model.backbone_desc.startswith("random (fallback")


def test_local_weights_file_is_loaded(tmp_path):
    from torchvision.models import vgg16

    torch.manual_seed(3)
    full = vgg16(weights=None)
    torch.save(full.state_dict(), tmp_path / "vgg.pth")
    features, desc = load_vgg16_features(str(tmp_path / "vgg.pth"))
    assert desc.startswith("file:")
    torch.testing.assert_close(features[14].weight, full.features[14].weight)
    torch.save({"x": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(BackboneUnavailable, match="not a VGG-16 state dict"):
        load_vgg16_features(str(tmp_path / "bad.pth"))


def test_backbone_is_frozen_and_unchanged_by_training(tmp_path):
    shards = make_shards(tmp_path / "s", 8)
    train(shards, run_paths(tmp_path), HeadConfig(), quiet(epochs=2), RANDOM)
    ck = load_checkpoint(tmp_path / "model.pt")
    torch.manual_seed(TrainConfig().seed)
    fresh = build_model(HeadConfig(), "random")
    for k, v in fresh.hypercolumn.state_dict().items():
        torch.testing.assert_close(ck["model"][f"hypercolumn.{k}"], v, rtol=0, atol=0)
    assert not any(p.requires_grad for p in fresh.hypercolumn.parameters())
    assert any(
        not torch.equal(ck["model"][f"head.{k}"], v) for k, v in fresh.head.state_dict().items()
    )


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_head_overfits_four_images(tmp_path, loss):
    shards = make_shards(tmp_path / "s", 4, size=16)
    cfg = quiet(epochs=60, loss=loss, lr=0.5 if loss == "mse" else 0.08)
    train(shards, run_paths(tmp_path), HeadConfig(), cfg, RANDOM)
    rows = (tmp_path / "metrics.tsv").read_text().splitlines()[1:]
    losses = [float(r.split("\t")[2]) for r in rows]
    floor = 0.0
    if loss == "bce":  # cross-entropy cannot go below the targets' own entropy
        uv = np.concatenate([np.load(str(s).replace(".Y.", ".UV.")) for s in shards]) / 255.0
        uv = np.clip(uv, 1e-7, 1 - 1e-7)
        floor = float(-(uv * np.log(uv) + (1 - uv) * np.log(1 - uv)).mean())
    assert losses[-1] - floor <= 0.5 * (losses[0] - floor), (losses[0], losses[-1], floor)


class Interrupt(BaseException):
    pass


def test_kill_and_resume_equals_uninterrupted(tmp_path, monkeypatch):
    shards = make_shards(tmp_path / "s", 12)  # 3 steps per epoch
    cfg = quiet(epochs=3, checkpoint_every=4)  # 9 steps, checkpoint at 4 and 8
    full = tmp_path / "full"
    train(shards, run_paths(full), HeadConfig(), cfg, RANDOM)

    real = T.loss_fn
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # mid-way through step 7, after the step-4 checkpoint
            raise Interrupt
        return real(*a, **k)

    part = tmp_path / "part"
    monkeypatch.setattr(T, "loss_fn", dying)
    with pytest.raises(Interrupt):
        train(shards, run_paths(part), HeadConfig(), cfg, RANDOM)
    monkeypatch.setattr(T, "loss_fn", real)
    assert not (part / "model.pt").exists()
    [last] = (part / "ckpt").glob("*/last.pt")
    assert load_checkpoint(last)["step"] == 4
    summary = train(shards, run_paths(part), HeadConfig(), cfg, RANDOM)
    assert summary["steps"] == 9
    a, b = load_checkpoint(full / "model.pt"), load_checkpoint(part / "model.pt")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    metrics = (part / "metrics.tsv").read_text().splitlines()
    assert [r.split("\t")[0] for r in metrics[1:]] == [str(s) for s in range(1, 10)]


def test_changed_settings_start_a_new_run_instead_of_resuming(tmp_path):
    shards = make_shards(tmp_path / "s", 8)
    a = train(shards, run_paths(tmp_path), HeadConfig(), quiet(epochs=1), RANDOM)
    b = train(shards, run_paths(tmp_path), HeadConfig(), quiet(epochs=1, lr=0.01), RANDOM)
    c = train(shards, run_paths(tmp_path), HeadConfig(), quiet(epochs=2), RANDOM)
    assert a["run_id"] != b["run_id"] and a["run_id"] == c["run_id"]  # epochs may grow


def test_checkpoint_is_weights_only_loadable_and_complete(tmp_path):
    shards = make_shards(tmp_path / "s", 8)
    train(
        shards,
        run_paths(tmp_path),
        HeadConfig(),
        quiet(epochs=1),
        RANDOM,
        config_record={"note": "test"},
    )
    ck = torch.load(tmp_path / "model.pt", weights_only=True)
    for key in (
        "model",
        "optimizer",
        "scheduler",
        "step",
        "rng",
        "config",
        "code_version",
        "head_config",
        "backbone_weights",
    ):
        assert key in ck, key
    assert ck["config"]["note"] == "test" and ck["config"]["train"]["lr"] == 0.08
    assert ck["backbone_weights"] == "random"
    model = T.model_from_checkpoint(ck)
    assert model.predict_uv(torch.zeros(1, 1, 16, 16)).shape == (1, 2, 16, 16)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    shards = make_shards(tmp_path / "s", 12)
    real = T.loss_fn
    calls = {"n": 0}

    def poisoned(*a, **k):
        calls["n"] += 1
        out = real(*a, **k)
        return out * float("nan") if calls["n"] >= 6 else out

    monkeypatch.setattr(T, "loss_fn", poisoned)
    with pytest.raises(T.NonFiniteLoss, match="non-finite loss at or before step 6.*last.pt"):
        train(
            shards, run_paths(tmp_path), HeadConfig(), quiet(epochs=3, checkpoint_every=4), RANDOM
        )
    [last] = (tmp_path / "ckpt").glob("*/last.pt")
    ck = load_checkpoint(last)
    assert ck["step"] == 4
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    assert not (tmp_path / "model.pt").exists()


def test_too_few_images_for_a_batch(tmp_path):
    shards = make_shards(tmp_path / "s", 3)
    with pytest.raises(ValueError, match="fewer than train.batch_size 4"):
        train(shards, run_paths(tmp_path), HeadConfig(), quiet(), RANDOM)


def test_ddp_gloo_two_processes_matches_one_process(tmp_path):
    shards = make_shards(tmp_path / "s", 16)
    head = HeadConfig(norm="none")  # batch norm statistics are per process under DDP on CPU
    cfg = quiet(epochs=2, batch_size=8, progress=False)
    one = tmp_path / "one"
    train(shards, run_paths(one), head, cfg, RANDOM)
    two = tmp_path / "two"
    spec = tmp_path / "spec.json"
    T.write_spec(spec, shards, run_paths(two), head, cfg, RANDOM)
    T.launch(spec, 2)
    a, b = load_checkpoint(one / "model.pt"), load_checkpoint(two / "model.pt")
    assert b["config"]["world_size"] == 2
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-5)
    la = [r.split("\t")[2] for r in (one / "metrics.tsv").read_text().splitlines()[1:]]
    lb = [r.split("\t")[2] for r in (two / "metrics.tsv").read_text().splitlines()[1:]]
    np.testing.assert_allclose(np.array(la, float), np.array(lb, float), rtol=1e-4)


def _run_train_script(run_script, tmp_path, shards, *, head, train_cfg, fallback, gpus, threads):
    return run_script(
        "train",
        input={"Y": [str(s) for s in shards]},
        output={
            "model": tmp_path / "model.pt",
            "metrics": tmp_path / "metrics.tsv",
            "summary": tmp_path / "summary.json",
        },
        params=dict(
            head=head,
            train=train_cfg,
            backbone=dict(weights="imagenet", download=False, allow_random_fallback=fallback),
            checkpoint_dir=str(tmp_path / "ckpt"),
            gpus=gpus,
        ),
        threads=threads,
        log=[tmp_path / "train.log"],
    )


def test_train_rule_script(tmp_path, run_script):
    shards = make_shards(tmp_path / "s", 8)
    head = dict(a_channels=8, a_kernel=3, b_channels=4, b_kernel=1, norm="batch", out_kernel=1)
    train_cfg = dict(epochs=1, batch_size=4, log_every=1, progress=False, loader_workers=-1)
    _run_train_script(
        run_script,
        tmp_path,
        shards,
        head=head,
        train_cfg=train_cfg,
        fallback=True,
        gpus=0,
        threads=2,
    )
    log = (tmp_path / "train.log").read_text()
    assert "RANDOM BACKBONE" in log
    assert "random (fallback" in (tmp_path / "metrics.tsv").read_text()
    ck = load_checkpoint(tmp_path / "model.pt")
    assert ck["head_config"]["a_channels"] == 8
    assert ck["config"]["train"]["loader_workers"] == 1  # -1: from the rule's 2 threads
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["n_images"] == 8 and summary["image_size"] == 16


def test_train_rule_script_fails_fast_without_weights(tmp_path, run_script, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    shards = make_shards(tmp_path / "s", 8)
    with pytest.raises(BackboneUnavailable, match="ImageNet VGG-16 weights are not available"):
        _run_train_script(
            run_script,
            tmp_path,
            shards,
            head={},
            train_cfg=dict(epochs=1, batch_size=4, progress=False),
            fallback=False,
            gpus=1,
            threads=1,
        )
    assert not (tmp_path / "ckpt").exists()
