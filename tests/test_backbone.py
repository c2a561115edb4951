"""Backbone weights: where they come from, how they are verified, resolved and written
(colorcnn.backbone)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import random_net

from colorcnn import backbone as B
from colorcnn.config import ConfigError, HeadConfig
from colorcnn.model import ColorizationNet


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
    net = ColorizationNet(random_net().hypercolumn.features, HeadConfig())
    net.hypercolumn.features.load_state_dict(a)
    t = net.hypercolumn(torch.rand(2, 1, 32, 32) * 255)
    assert t[:, 195:].std() > 0.1  # conv3_3 activations do not vanish (fan-out init: ~0.08)


def test_the_prefix_is_torchvisions_vgg16_features_without_torchvision():
    """The network is rebuilt from a checkpoint without importing torchvision or initialising
    the 138M parameters of a whole VGG-16 (together about 4 s of a colorize run)."""
    from torchvision.models import vgg16

    ours, theirs = B.vgg16_prefix_layers(), vgg16(weights=None).features[: B.PREFIX_LAYERS]
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }


def test_a_checkpoint_loads_without_importing_torchvision(tmp_path):
    import subprocess
    import sys

    from conftest import small_model

    from colorcnn.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "m.pt", small_model(), step=0, config={"image_size": 32})
    code = (
        "import sys\nfrom colorcnn.checkpoint import load_checkpoint, model_from_checkpoint\n"
        f"model_from_checkpoint(load_checkpoint({str(tmp_path / 'm.pt')!r}))\n"
        "print('torchvision' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr[-2000:]


def test_loading_the_backbone_draws_from_the_rng_as_torchvision_does(tmp_path):
    """Training seeds the RNG, loads the backbone, then initialises the head: a loader that
    draws fewer random numbers (a lighter VGG-16 builder) silently changes every run's
    trajectory under an unchanged run key (seen: the demo's numbers moved)."""
    from torchvision.models import vgg16

    path = tmp_path / "w.pt"
    torch.save(B.random_prefix(0), path)
    torch.manual_seed(5)
    B.load_backbone(path)
    ours = torch.rand(4)
    torch.manual_seed(5)
    vgg16(weights=None)
    theirs = torch.rand(4)
    assert torch.equal(ours, theirs)
