"""The paper's network, its backbone weights, and training: provenance, resume, signals, DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

import colorcnn.train as T
from colorcnn import backbone as B
from colorcnn.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from colorcnn.config import ConfigError, HeadConfig, TrainConfig
from colorcnn.io import code_version
from colorcnn.model import ColorizationNet
from colorcnn.runtime import Job, NonFiniteLoss, launch, plan_processes
from colorcnn.synthetic import write_shards

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def backbone_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("backbone")
    B.resolve_backbone(B.BackbonePlan("random", ""), d / "weights.pt", d / "weights.json")
    return d / "weights.pt"


def make_job(tmp: Path, shards, backbone: Path, head=HeadConfig(), **train) -> Job:
    y, uv, index = shards
    cfg = dict(
        batch_size=4,
        log_every=1,
        val_every=0,
        progress=False,
        device="cpu",
        loader_workers=0,
        checkpoint_every=500,
        epochs=1,
    )
    return Job(
        y=list(map(str, y)),
        uv=list(map(str, uv)),
        index=list(map(str, index)),
        backbone=str(backbone),
        backbone_description="random (seed 0)",
        model=str(tmp / "model.pt"),
        metrics=str(tmp / "metrics.tsv"),
        summary=str(tmp / "summary.json"),
        checkpoint_dir=str(tmp / "ckpt"),
        head=head,
        train=TrainConfig(**{**cfg, **train}),
        n_train_rows=10**9,
        log=str(tmp / "train.log"),
    )


def metrics_rows(path) -> list[list[str]]:
    return [r.split("\t") for r in Path(path).read_text().splitlines()[1:]]


# --- the network ------------------------------------------------------------------------------


def _net(head=HeadConfig()):
    from torchvision.models import vgg16

    torch.manual_seed(0)
    return ColorizationNet(vgg16(weights=None).features, head, "random")


@pytest.mark.parametrize("h, w", [(16, 16), (32, 20), (36, 52)])
def test_hypercolumn_has_451_channels_and_q_144(h, w):
    model = _net()
    y = torch.rand(2, 1, h, w) * 255
    t = model.hypercolumn(y)
    assert t.shape == (2, 451, h, w)
    logits, q = model.head(t, return_q=True)
    assert q.shape == (2, 144, h, w) and logits.shape == (2, 2, h, w)
    uv = model.predict_uv(y)
    assert uv.min() >= 0 and uv.max() <= 255


@pytest.mark.parametrize(
    "taps, width, layers", [(("conv3_3",), 256, 16), (("input", "conv1_2"), 67, 4)]
)
def test_taps_variant_builds_a_t_of_the_right_width(taps, width, layers):
    model = _net(HeadConfig(taps=taps))
    assert model.hypercolumn(torch.rand(1, 1, 16, 16) * 255).shape[1] == width
    assert len(model.hypercolumn.features) == layers  # only the layers a tap needs run
    assert model.head.a[0].in_channels == width


@pytest.mark.parametrize("taps", [("input", "conv1_2", "conv2_2", "conv3_3"), ("conv3_3",)])
def test_inference_net_computes_the_same_function(taps):
    """Folded input channels, folded batch norm, T never assembled: the same logits."""
    from colorcnn.model import InferenceNet

    net = _net(HeadConfig(taps=taps))
    for bn in (net.head.a[1], net.head.b[1]):  # batch statistics that are not the identity
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
    net.eval()
    y = torch.rand(2, 1, 36, 52) * 255
    with torch.no_grad():
        torch.testing.assert_close(InferenceNet(net)(y), net(y), rtol=0, atol=1e-5)


def test_input_size_must_be_divisible_by_4():
    with pytest.raises(ValueError, match="divisible by 4"):
        _net()(torch.zeros(1, 1, 18, 16))


# --- backbone weights -------------------------------------------------------------------------


def test_torch_hub_dir_is_torchs_without_importing_it(tmp_path, monkeypatch):
    for env in ({}, {"XDG_CACHE_HOME": str(tmp_path / "x")}, {"TORCH_HOME": str(tmp_path / "t")}):
        for k in ("TORCH_HOME", "XDG_CACHE_HOME"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        assert B.torch_hub_dir() == Path(torch.hub.get_dir())


def test_imagenet_url_and_file_are_torchvisions():
    from torchvision.models import VGG16_Weights

    assert VGG16_Weights.IMAGENET1K_V1.url == B.VGG16_IMAGENET_URL
    assert B.VGG16_IMAGENET_FILE.endswith(f"-{B.VGG16_HASH_PREFIX}.pth")


def test_plan_fails_at_once_naming_the_key_and_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth"
    with pytest.raises(ConfigError, match=rf"model.backbone_weights.*{expected}"):
        B.plan_backbone("imagenet", download=False, data_source="ilsvrc")
    demo = B.plan_backbone("imagenet", download=False, data_source="demo")
    assert demo.fallback and demo.description.startswith("random (fallback")
    assert B.plan_backbone("imagenet", download=True, data_source="ilsvrc").download
    with pytest.raises(ConfigError, match="neither 'imagenet', 'random' nor an existing file"):
        B.plan_backbone(str(tmp_path / "typo.pth"), download=False, data_source="demo")
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b"")
    plan = B.plan_backbone("imagenet", download=False, data_source="ilsvrc")
    assert plan.source == str(expected) and not plan.download and not plan.fallback


def test_resolved_weights_are_verified(tmp_path, monkeypatch):
    from torchvision.models import vgg16

    torch.manual_seed(3)
    full = vgg16(weights=None)
    torch.save(full.state_dict(), tmp_path / "vgg.pth")
    plan = B.plan_backbone(str(tmp_path / "vgg.pth"), download=False, data_source="ilsvrc")
    info = B.resolve_backbone(plan, tmp_path / "w.pt", tmp_path / "w.json")
    features, sha = B.load_backbone(tmp_path / "w.pt")
    torch.testing.assert_close(features[14].weight, full.features[14].weight)
    assert sha == info["sha256"] and info["description"] == f"file:{tmp_path / 'vgg.pth'}"
    torch.save({"x": torch.zeros(1)}, tmp_path / "bad.pth")
    bad = B.plan_backbone(str(tmp_path / "bad.pth"), download=False, data_source="ilsvrc")
    with pytest.raises(ValueError, match=r"not a VGG-16 state dict: features.0.weight: missing"):
        B.resolve_backbone(bad, tmp_path / "x.pt", tmp_path / "x.json")
    # an ImageNet file whose hash does not match torchvision's published prefix
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = B.imagenet_cache_path()
    cached.parent.mkdir(parents=True)
    torch.save(full.state_dict(), cached)
    imagenet = B.plan_backbone("imagenet", download=False, data_source="ilsvrc")
    with pytest.raises(ValueError, match="does not start with torchvision's published prefix"):
        B.resolve_backbone(imagenet, tmp_path / "y.pt", tmp_path / "y.json")


def test_download_creates_the_cache_folder_and_only_then_fetches(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "fresh"))
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        assert Path(dst).parent.is_dir(), "the checkpoints folder must exist before downloading"
        calls.append((url, hash_prefix))
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    plan = B.plan_backbone("imagenet", download=True, data_source="ilsvrc")
    with pytest.raises(RuntimeError, match="downloading vgg16-397923af.pth failed.*unreachable"):
        B.resolve_backbone(plan, tmp_path / "w.pt", tmp_path / "w.json")
    assert calls == [(B.VGG16_IMAGENET_URL, B.VGG16_HASH_PREFIX)]


def test_the_resolved_backbone_file_is_the_same_bytes_wherever_it_is_written(tmp_path):
    """The run id includes the weights file's SHA-256, so the same weights must give the same
    file: a deleted results/backbone/ (or another machine, another process) must not start a
    new run. torch.save to a path embeds the (temporary) file name in the archive."""
    plan = B.BackbonePlan("random", "")
    a = B.resolve_backbone(plan, tmp_path / "a" / "weights.pt", tmp_path / "a.json")
    b = B.resolve_backbone(plan, tmp_path / "b" / "other-name.pt", tmp_path / "b.json")
    assert a["sha256"] == b["sha256"]


def test_random_weights_are_deterministic_and_keep_their_scale(tmp_path):
    a, b = B.random_prefix(0), B.random_prefix(0)
    assert all(torch.equal(a[k], b[k]) for k in a)
    net = ColorizationNet(_net().hypercolumn.features, HeadConfig())
    net.hypercolumn.features.load_state_dict(a)
    t = net.hypercolumn(torch.rand(2, 1, 32, 32) * 255)
    assert t[:, 195:].std() > 0.1  # conv3_3 activations do not vanish (fan-out init: ~0.08)


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


def test_kill_and_resume_equals_uninterrupted(tmp_path, backbone_file, monkeypatch):
    shards = write_shards(tmp_path / "s", 12)  # 3 steps per epoch
    full = make_job(tmp_path / "full", shards, backbone_file, epochs=3, checkpoint_every=4)
    T.train(full)
    real = T.loss_fn
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # mid-way through step 7, after the step-4 checkpoint
            raise Interrupt
        return real(*a, **k)

    part = make_job(tmp_path / "part", shards, backbone_file, epochs=3, checkpoint_every=4)
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


def test_code_version_is_dirty_for_code_not_for_regenerated_reports(tmp_path):
    """Regenerating the committed reports must not mark the code that made them as dirty."""

    def git(*args):
        ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", *ident, *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.md").write_text("old\n")
    (tmp_path / "train.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first")
    clean = code_version(tmp_path)
    assert "+git." in clean and not clean.endswith("-dirty")
    (tmp_path / "reports" / "results.md").write_text("new\n")
    code_version.cache_clear()
    assert code_version(tmp_path) == clean
    (tmp_path / "train.py").write_text("x = 2\n")
    code_version.cache_clear()
    assert code_version(tmp_path) == clean + "-dirty"


def test_validation_loss_on_held_out_rows(tmp_path, backbone_file):
    shards = write_shards(tmp_path / "s", 12)
    job = make_job(tmp_path, shards, backbone_file, epochs=2, val_every=2)
    job.n_train_rows = 8  # manifest rows 8..11 are held out
    summary = T.train(job)
    assert summary["n_train_images"] == 8 and summary["n_val_images"] == 4
    rows = metrics_rows(job.metrics)
    vals = {int(r[0]): r[3] for r in rows if r[3]}
    assert sorted(vals) == [2, 4] and all(float(v) > 0 for v in vals.values())


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


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_damaged_checkpoint_names_the_file_and_the_fix(tmp_path, backbone_file, damage):
    shards = write_shards(tmp_path / "s", 12)
    job = make_job(tmp_path, shards, backbone_file, epochs=3, checkpoint_every=4)
    T.train(job)  # writes last.pt at 4 and 8 (prev.pt is the step-4 one), then the final
    [last] = Path(job.checkpoint_dir).glob("*/last.pt")
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"")
    with pytest.raises(
        CheckpointError,
        match=rf"{last} cannot be read.*Delete it and rerun: "
        rf"training resumes from {last.with_name('prev.pt')}",
    ):
        T.train(job)
    last.unlink()
    assert T.train(job)["steps"] == 9  # resumed from prev.pt


def test_plan_processes_follows_the_gpus_the_job_was_given():
    assert plan_processes(0, 4) == (1, "cpu")  # train.gpus: 0 forces the CPU
    assert plan_processes(1, 0) == (1, "auto")
    assert plan_processes(2, 2) == (2, "cuda")
    with pytest.raises(RuntimeError, match="train.gpus is 4 but this job sees 1 GPU"):
        plan_processes(4, 1)


def test_job_round_trips_through_json(tmp_path, backbone_file):
    job = make_job(
        tmp_path, write_shards(tmp_path / "s", 4), backbone_file, head=HeadConfig(taps=("conv3_3",))
    )
    job.save(tmp_path / "job.json")
    back = Job.load(tmp_path / "job.json")
    assert back == job and isinstance(back.head, HeadConfig) and back.head.taps == ("conv3_3",)


def test_ddp_gloo_two_processes_through_the_rules_job_file(tmp_path, backbone_file):
    """The spec round trip the rule uses: summary written, logs in the rule's log, and the
    result equal to one process with the whole batch."""
    shards = write_shards(tmp_path / "s", 16)
    head = HeadConfig(norm="none")  # batch norm statistics are per process under DDP on CPU
    one = make_job(tmp_path / "one", shards, backbone_file, head=head, epochs=2, batch_size=8)
    T.train(one)
    two = make_job(tmp_path / "two", shards, backbone_file, head=head, epochs=2, batch_size=8)
    Path(two.checkpoint_dir).mkdir(parents=True)
    two.save(tmp_path / "two" / "job.json")
    launch(tmp_path / "two" / "job.json", 2)
    a, b = load_checkpoint(one.model), load_checkpoint(two.model)
    assert b["config"]["world_size"] == 2
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-5)
    la = [float(r[2]) for r in metrics_rows(one.metrics)]
    lb = [float(r[2]) for r in metrics_rows(two.metrics)]
    np.testing.assert_allclose(la, lb, rtol=1e-4)
    summary = json.loads(Path(two.summary).read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 4
    assert "wrote" in Path(two.log).read_text()


@pytest.fixture
def one_thread():
    """Bit-identical results across processes need the same reduction order in each."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_sigterm_checkpoints_and_the_rerun_resumes_bit_identically(
    tmp_path, backbone_file, one_thread
):
    """A real training process gets SIGTERM (as from SLURM): it finishes the step, writes a
    checkpoint, exits non-zero; the rerun ends exactly where an uninterrupted run does."""
    shards = write_shards(tmp_path / "s", 20)
    head = HeadConfig(a_channels=8, b_channels=4)  # fast steps: 300 of them in a few seconds
    settings = dict(head=head, epochs=60, checkpoint_every=1000, batch_size=4)
    full = make_job(tmp_path / "full", shards, backbone_file, **settings)
    T.train(full)
    job = make_job(tmp_path / "sig", shards, backbone_file, **settings)
    Path(job.checkpoint_dir).mkdir(parents=True)
    job.save(tmp_path / "job.json")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "colorcnn.train", str(tmp_path / "job.json")]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (Path(job.checkpoint_dir).glob("*/metrics.tsv") and _steps(job) >= 5):
        assert proc.poll() is None and time.time() < deadline, "training ended before the signal"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    [last] = Path(job.checkpoint_dir).glob("*/last.pt")
    stopped = load_checkpoint(last)["step"]
    assert 5 <= stopped < 300 and "rerun to resume" in err
    assert not Path(job.model).exists()
    assert T.train(job)["steps"] == 300
    a, b = load_checkpoint(full.model), load_checkpoint(job.model)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def _steps(job: Job) -> int:
    files = list(Path(job.checkpoint_dir).glob("*/metrics.tsv"))
    rows = metrics_rows(files[0]) if files else []
    return int(rows[-1][0]) if rows else 0


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
            checkpoint_dir=str(tmp_path / "ckpt"),
            record={"variant": "paper", "seed": 2016},
        ),
        threads=threads,
        log=[tmp_path / "train.log"],
    )


def test_train_rule_script(tmp_path, run_script, backbone_file):
    shards = write_shards(tmp_path / "s", 8)
    _run_train_script(run_script, tmp_path, shards, backbone_file, gpus=0, threads=2)
    assert "random (fallback: test)" in (tmp_path / "metrics.tsv").read_text()
    ck = load_checkpoint(tmp_path / "model.pt")
    assert ck["head_config"]["a_channels"] == 8
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["image_size"] == 16 and summary["device"] == "cpu"
    assert summary["variant"] == "paper" and summary["seed"] == 2016


def test_train_rule_script_refuses_more_processes_than_gpus(tmp_path, run_script, backbone_file):
    shards = write_shards(tmp_path / "s", 8)
    with pytest.raises(RuntimeError, match="train.gpus is 2 but this job sees 0 GPU"):
        _run_train_script(run_script, tmp_path, shards, backbone_file, gpus=2, threads=1)
    assert not (tmp_path / "ckpt").exists()


def test_lr_decays_by_epochs_or_by_steps():
    """The paper's step decay (×lr_gamma every lr_step epochs), or Caffe's stepsize reading."""
    by_epoch = TrainConfig(lr=0.08, lr_step=2, lr_gamma=0.5)
    assert [by_epoch.lr_at(s, steps_per_epoch=10) for s in (0, 19, 20, 39, 40)] == [
        0.08,
        0.08,
        0.04,
        0.04,
        0.02,
    ]
    by_step = TrainConfig(lr=0.08, lr_step=2, lr_gamma=0.5, lr_step_unit="step")
    assert [by_step.lr_at(s, steps_per_epoch=10) for s in (0, 1, 2, 4)] == [0.08, 0.08, 0.04, 0.02]
