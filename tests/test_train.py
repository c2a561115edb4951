"""Training: the frozen backbone, the loss, kill and resume, provenance, validation, the
non-finite stop (colorcnn.train)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_job, metrics_rows

import colorcnn.train as T
from colorcnn import backbone as B
from colorcnn.checkpoint import load_checkpoint, model_from_checkpoint
from colorcnn.config import HeadConfig
from colorcnn.testimages import write_shards
from colorcnn.train import Job
from colorcnn.trainlog import NonFiniteLoss

SRC = Path(__file__).resolve().parents[1] / "src"


# --- the network ------------------------------------------------------------------------------


# --- backbone weights -------------------------------------------------------------------------


# --- training -----------------------------------------------------------------------------------


def test_backbone_is_frozen_and_unchanged_by_training(tmp_path, backbone_file):
    shards = write_shards(tmp_path / "s", 8)
    T.train(make_job(tmp_path, shards, backbone_file, epochs=2))
    ck = load_checkpoint(tmp_path / "model.pt")
    features, _ = B.load_backbone(backbone_file)
    for k, v in features.state_dict().items():
        assert torch.equal(ck["model"][f"hypercolumn.features.{k}"], v), k


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_head_overfits_four_images_with_the_configured_loss(
    tmp_path, backbone_file, loss, monkeypatch
):
    used = []
    real = T.loss_fn
    monkeypatch.setattr(T, "loss_fn", lambda kind, *a: used.append(kind) or real(kind, *a))
    shards = write_shards(tmp_path / "s", 4)
    T.train(
        make_job(
            tmp_path, shards, backbone_file, epochs=60, loss=loss, lr=0.5 if loss == "mse" else 0.08
        )
    )
    assert set(used) == {loss}
    losses = [float(r[2]) for r in metrics_rows(tmp_path / "metrics.tsv")]
    floor = 0.0
    if loss == "bce":  # cross-entropy cannot go below the targets' own entropy
        uv = np.concatenate([np.load(p) for p in shards[1]]) / 255.0
        uv = np.clip(uv, 1e-7, 1 - 1e-7)
        floor = float(-(uv * np.log(uv) + (1 - uv) * np.log(1 - uv)).mean())
    assert losses[-1] - floor <= 0.5 * (losses[0] - floor), (losses[0], losses[-1], floor)


class Interrupt(BaseException):
    pass


#: What a GPU run uses (config/paper.yaml), forced here on the CPU: bf16 autocast,
#: channels_last and torch.compile (inductor) run on CPUs too.
GPU_SETTINGS = dict(bf16=True, channels_last=True, compile=True)


@pytest.mark.parametrize("settings", [{}, GPU_SETTINGS], ids=["float32", "gpu-settings"])
def test_kill_and_resume_equals_uninterrupted(tmp_path, backbone_file, monkeypatch, settings):
    shards = write_shards(tmp_path / "s", 12)  # 3 steps per epoch
    kw = dict(epochs=3, checkpoint_every=4, **settings)
    full = make_job(tmp_path / "full", shards, backbone_file, **kw)
    T.train(full)
    real = T.loss_fn
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # mid-way through step 7, after the step-4 checkpoint
            raise Interrupt
        return real(*a, **k)

    part = make_job(tmp_path / "part", shards, backbone_file, **kw)
    monkeypatch.setattr(T, "loss_fn", dying)
    with pytest.raises(Interrupt):
        T.train(part)
    monkeypatch.setattr(T, "loss_fn", real)
    assert not Path(part.model).exists()
    [last] = Path(part.checkpoint_dir).glob("*/last.pt")
    assert load_checkpoint(last)["step"] == 4
    assert T.train(part)["steps"] == 9
    a, b = load_checkpoint(full.model), load_checkpoint(part.model)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert [r[0] for r in metrics_rows(part.metrics)] == [str(s) for s in range(1, 10)]


def test_run_id_covers_settings_data_and_backbone(tmp_path, backbone_file, caplog):
    """A changed setting, other data (same count) or another backbone starts a new run and
    says why; more epochs extend the finished run."""
    caplog.set_level("INFO")
    shards = write_shards(tmp_path / "s", 8)
    job = make_job(tmp_path, shards, backbone_file)
    a = T.train(job)
    b = T.train(replace(job, train=replace(job.train, lr=0.01)))
    c = T.train(replace(job, train=replace(job.train, epochs=2)))
    assert a["run_id"] != b["run_id"] and a["run_id"] == c["run_id"]
    assert "not resuming run" in caplog.text and "train changed" in caplog.text
    other = write_shards(tmp_path / "other", 8, seed=1)  # as if data.seed had changed
    d = T.train(make_job(tmp_path, other, backbone_file))
    assert d["run_id"] != a["run_id"] and "data changed" in caplog.text
    assert d["provenance"]["data"] != a["provenance"]["data"]
    assert not torch.equal(
        load_checkpoint(tmp_path / "model.pt")["model"]["head.out.weight"],
        load_checkpoint(Path(job.checkpoint_dir) / a["run_id"] / "last.pt")["model"][
            "head.out.weight"
        ],
    )
    torch.save({k: v + 1 for k, v in B.random_prefix(0).items()}, tmp_path / "w2.pt")
    e = T.train(replace(job, backbone=str(tmp_path / "w2.pt")))
    assert e["run_id"] != a["run_id"] and "backbone changed" in caplog.text
    f = T.train(replace(job, train=replace(job.train, bf16=True)))
    assert f["run_id"] != a["run_id"] and "numerics changed" in caplog.text
    assert f["provenance"]["numerics"] == {"precision": "bf16", "world_size": 1, "compile": False}
    assert a["provenance"]["numerics"]["precision"] == "float32"


def test_outputs_record_provenance(tmp_path, backbone_file):
    shards = write_shards(tmp_path / "s", 8)
    job = make_job(tmp_path, shards, backbone_file)
    job.record = {"variant": "paper", "seed": 2016}
    T.train(job)
    ck = torch.load(tmp_path / "model.pt", weights_only=True)
    for key in (
        "model",
        "optimizer",
        "step",
        "rng",
        "config",
        "code_version",
        "head_config",
        "backbone_weights",
    ):
        assert key in ck, key
    prov = ck["config"]["provenance"]
    assert prov["backbone"] == B.sha256_file(backbone_file)
    assert prov["data"] == T.fingerprint(shards[2]) and prov["train"]["lr"] == 0.08
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["provenance"] == json.loads(json.dumps(prov)) and summary["variant"] == "paper"
    model = model_from_checkpoint(ck)
    assert model.predict_uv(torch.zeros(1, 1, 16, 16)).shape == (1, 2, 16, 16)


def _loss_on(model, y_paths, uv_paths, rows) -> float:
    """The BCE of ``model`` on manifest ``rows``, read straight from the shard files."""
    y = np.concatenate([np.load(p) for p in y_paths])[rows]
    uv = np.concatenate([np.load(p) for p in uv_paths])[rows]
    with torch.no_grad():
        logits = model(torch.from_numpy(y).unsqueeze(1).float())
    return float(T.loss_fn("bce", logits, torch.from_numpy(uv).float() / 255))


def test_validation_loss_on_held_out_rows(tmp_path, backbone_file):
    shards = write_shards(tmp_path / "s", 12)
    job = make_job(tmp_path, shards, backbone_file, epochs=2, val_every=2)
    job.n_train_rows = 8  # manifest rows 8..11 are held out
    summary = T.train(job)
    assert summary["n_train_images"] == 8 and summary["n_val_images"] == 4
    rows = metrics_rows(job.metrics)
    vals = {int(r[0]): float(r[3]) for r in rows if r[3]}
    assert sorted(vals) == [2, 4]
    # the last validation (step 4, the final model) is the loss on rows 8..11, not on others
    model = model_from_checkpoint(load_checkpoint(job.model))
    held_out = _loss_on(model, shards[0], shards[1], slice(8, 12))
    assert vals[4] == pytest.approx(held_out, rel=1e-5)
    assert abs(vals[4] - _loss_on(model, shards[0], shards[1], slice(0, 4))) > 1e-4


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, backbone_file, monkeypatch):
    shards = write_shards(tmp_path / "s", 12)
    real = T.loss_fn
    calls = {"n": 0}

    def poisoned(*a, **k):
        calls["n"] += 1
        out = real(*a, **k)
        return out * float("nan") if calls["n"] >= 6 else out

    monkeypatch.setattr(T, "loss_fn", poisoned)
    job = make_job(tmp_path, shards, backbone_file, epochs=3, checkpoint_every=4)
    with pytest.raises(NonFiniteLoss, match="non-finite loss at or before step 6.*last.pt"):
        T.train(job)
    [last] = (tmp_path / "ckpt").glob("*/last.pt")
    ck = load_checkpoint(last)
    assert ck["step"] == 4
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    assert not (tmp_path / "model.pt").exists()


def test_too_few_images_for_a_batch(tmp_path, backbone_file):
    shards = write_shards(tmp_path / "s", 3)
    with pytest.raises(ValueError, match="3 training images are fewer than train.batch_size 4"):
        T.train(make_job(tmp_path, shards, backbone_file))


def test_job_round_trips_through_json(tmp_path, backbone_file):
    job = make_job(
        tmp_path, write_shards(tmp_path / "s", 4), backbone_file, head=HeadConfig(taps=("conv3_3",))
    )
    job.save(tmp_path / "job.json")
    back = Job.load(tmp_path / "job.json")
    assert back == job and isinstance(back.head, HeadConfig) and back.head.taps == ("conv3_3",)


def test_bf16_training_follows_the_float32_curve_and_keeps_float32_weights(tmp_path, backbone_file):
    """The GPU's numerics on the CPU: close to the float32 loss curve, not equal to it; the
    checkpoint holds float32 weights (autocast computes in bf16, the parameters stay)."""
    shards = write_shards(tmp_path / "s", 8)
    a = make_job(tmp_path / "a", shards, backbone_file, epochs=8)
    b = make_job(tmp_path / "b", shards, backbone_file, epochs=8, bf16=True, channels_last=True)
    T.train(a)
    summary = T.train(b)
    la = np.array([float(r[2]) for r in metrics_rows(a.metrics)])
    lb = np.array([float(r[2]) for r in metrics_rows(b.metrics)])
    assert len(la) == len(lb) == 16 and not np.array_equal(la, lb)
    np.testing.assert_allclose(lb, la, rtol=0.03)
    assert summary["provenance"]["numerics"]["precision"] == "bf16"
    weights = load_checkpoint(b.model)["model"]
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.float32}


def test_compiled_training_compiles_once_not_per_step(tmp_path, backbone_file, monkeypatch):
    """train.compile: the first step compiles; the steps after it reuse the graphs."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    graphs = []
    real = T.loss_fn
    monkeypatch.setattr(
        T,
        "loss_fn",
        lambda *a: graphs.append(counters["stats"]["unique_graphs"]) or real(*a),
    )
    shards = write_shards(tmp_path / "s", 8)
    T.train(make_job(tmp_path, shards, backbone_file, epochs=3, compile=True))
    assert len(graphs) == 6 and graphs[0] >= 1
    assert graphs == [graphs[0]] * 6, graphs
