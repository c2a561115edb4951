"""The peers (Zhang et al.'s ECCV16 and SIGGRAPH17) against an independent restatement of the
published networks and pipeline: random values under the published key names and shapes,
run layer by layer from the state dict with torch.nn.functional, and the ``colorizers``
package's pre/post-processing written out step by step (RGB to 256x256 bicubic, ``rgb2lab``
at both sizes, ab upsampled bilinearly, joined with the original L, ``lab2rgb``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from skimage import color

from colorcnn import peers
from colorcnn.testimages import natural_rgb

#: ECCV16's blocks as published: (block, the strides of its 3x3 convolutions, dilation)
ECCV16_BLOCKS = [(1, [1, 2], 1), (2, [1, 2], 1), (3, [1, 1, 2], 1), (4, [1, 1, 1], 1),
                 (5, [1, 1, 1], 2), (6, [1, 1, 1], 2), (7, [1, 1, 1], 1)]  # fmt: skip


OUTPUT_LAYERS = {"model8.6.weight", "model_out.weight", "model_out.0.weight"}


def random_published_state(network: str, seed: int = 0) -> dict:
    """Random values under the published keys and shapes, batch norm statistics included
    (running means and variances that are not 0 and 1, so that they matter)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in peers.published_shapes(network).items():
        if k.endswith("running_var"):
            state[k] = torch.rand(shape, generator=g) + 0.5
        elif k.endswith(("running_mean", "bias")):
            state[k] = torch.randn(shape, generator=g) * 0.1
        elif k.endswith("weight") and len(shape) == 1:  # batch norm's gamma
            state[k] = torch.rand(shape, generator=g) + 0.5
        else:
            gain = 30.0 if k in OUTPUT_LAYERS else 1.0  # peaked bins, strong colours
            state[k] = torch.randn(shape, generator=g) * gain * (2.0 / np.prod(shape[1:])) ** 0.5
    return state


def _bn(x, s, k):
    return F.batch_norm(x, s[f"{k}.running_mean"], s[f"{k}.running_var"], s[f"{k}.weight"],
                        s[f"{k}.bias"], False, 0.0, 1e-5)  # fmt: skip


def _conv(x, s, k, stride=1, dilation=1, relu=True):
    w = s[f"{k}.weight"]
    pad = dilation * (w.shape[-1] // 2)
    y = F.conv2d(x, w, s.get(f"{k}.bias"), stride, pad, dilation)
    return F.relu(y) if relu else y


def _up(x, s, k):
    return F.conv_transpose2d(x, s[f"{k}.weight"], s[f"{k}.bias"], stride=2, padding=1)


def eccv16_by_hand(s: dict, lum: torch.Tensor) -> torch.Tensor:
    x = (lum - 50) / 100
    for b, strides, dilation in ECCV16_BLOCKS:
        for i, stride in enumerate(strides):
            x = _conv(x, s, f"model{b}.{2 * i}", stride, dilation)
        x = _bn(x, s, f"model{b}.{2 * len(strides)}")
    x = F.relu(_up(x, s, "model8.0"))
    x = _conv(_conv(x, s, "model8.2"), s, "model8.4")
    x = _conv(x, s, "model8.6", relu=False)
    ab = F.conv2d(F.softmax(x, dim=1), s["model_out.weight"])
    return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False) * 110


def siggraph17_by_hand(s: dict, lum: torch.Tensor) -> torch.Tensor:
    z = lum * 0
    x = torch.cat([(lum - 50) / 100, z / 110, z / 110, z], dim=1)  # L, ab hints, mask

    def block(x, b, n, dilation=1):
        for i in range(n):
            x = _conv(x, s, f"model{b}.{2 * i}", 1, dilation)
        return _bn(x, s, f"model{b}.{2 * n}")

    c1 = block(x, 1, 2)
    c2 = block(c1[:, :, ::2, ::2], 2, 2)
    c3 = block(c2[:, :, ::2, ::2], 3, 3)
    x = block(c3[:, :, ::2, ::2], 4, 3)
    x = block(block(x, 5, 3, 2), 6, 3, 2)
    x = block(x, 7, 3)
    x = F.relu(_up(x, s, "model8up.0") + _conv(c3, s, "model3short8.0", relu=False))
    x = _bn(_conv(_conv(x, s, "model8.1"), s, "model8.3"), s, "model8.5")
    x = F.relu(_up(x, s, "model9up.0") + _conv(c2, s, "model2short9.0", relu=False))
    x = _bn(_conv(x, s, "model9.1"), s, "model9.3")
    x = F.relu(_up(x, s, "model10up.0") + _conv(c1, s, "model1short10.0", relu=False))
    x = F.leaky_relu(_conv(x, s, "model10.1", relu=False), 0.2)
    return torch.tanh(_conv(x, s, "model_out.0", relu=False)) * 110


BY_HAND = {"eccv16": eccv16_by_hand, "siggraph17": siggraph17_by_hand}


def package_pipeline(forward, rgb: np.ndarray) -> np.ndarray:
    """The ``colorizers`` package's util.preprocess_img / postprocess_tens, step by step."""
    rs = np.asarray(Image.fromarray(rgb).resize((256, 256), resample=3))
    l_orig = torch.Tensor(color.rgb2lab(rgb)[:, :, 0])[None, None]
    l_rs = torch.Tensor(color.rgb2lab(rs)[:, :, 0])[None, None]
    out_ab = forward(l_rs)
    if l_orig.shape[2:] != out_ab.shape[2:]:
        out_ab = F.interpolate(out_ab, size=l_orig.shape[2:], mode="bilinear")
    lab = torch.cat((l_orig, out_ab), dim=1).numpy()[0].transpose((1, 2, 0))
    return (np.clip(color.lab2rgb(lab), 0, 1) * 255).round().astype(np.uint8)


@pytest.mark.parametrize("network", ["eccv16", "siggraph17"])
def test_a_published_state_dict_gives_the_published_pipelines_colours(network, tmp_path):
    state = random_published_state(network)
    torch.save(state, tmp_path / f"{network}.pth")
    net, record = peers.load_weights(network, tmp_path / f"{network}.pth")
    assert record["verified"] == "published keys and shapes" and not record["published"]
    gray = np.asarray(Image.fromarray(natural_rgb(60, 84, seed=3)).convert("L"))
    rgb = natural_rgb(52, 70, seed=4)
    with torch.no_grad():
        ab_small = net(torch.full((1, 1, 256, 256), 40.0) + torch.randn(1, 1, 256, 256))
    assert ab_small.shape == (1, 2, 256, 256) and ab_small.abs().max() > 1  # colours, not gray
    ours = peers.colorize_batch(net, [gray, rgb])  # a gray and a colour image in one batch
    with torch.no_grad():
        by_hand = lambda x: BY_HAND[network](state, x)  # noqa: E731
        ref_gray = package_pipeline(by_hand, np.tile(gray[..., None], 3))
        ref_rgb = package_pipeline(by_hand, rgb)
    for a, b in ((ours[0], ref_gray), (ours[1], ref_rgb)):
        assert a.shape == b.shape and a.dtype == np.uint8
        diff = np.abs(a.astype(int) - b.astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.05, (diff.max(), diff.mean())
    assert np.ptp(ours[0].astype(int) - ours[0][..., :1], axis=None) > 5  # not gray


def test_the_gray_table_is_rgb2lab_of_three_equal_channels():
    g = np.arange(256, dtype=np.uint8).reshape(16, 16)
    want = color.rgb2lab(np.repeat(g[..., None], 3, axis=2))[..., 0]
    np.testing.assert_allclose(peers.lightness(g), want, atol=1e-4)


@pytest.mark.parametrize("network", ["eccv16", "siggraph17"])
def test_a_state_dict_of_another_network_is_refused_with_the_differences(network, tmp_path):
    state = random_published_state(network)
    first = "model3.0.weight"
    state[first] = state[first][:, :1]  # another shape
    state["extra.weight"] = torch.zeros(1)
    del state["model2.0.bias"]
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(peers.WeightsError) as e:
        peers.load_weights(network, tmp_path / "w.pth")
    msg = str(e.value)
    assert "missing keys: model2.0.bias" in msg and "unexpected keys: extra.weight" in msg
    assert f"{first} " in msg and "shapes differ" in msg


def test_a_file_under_a_published_name_is_held_to_its_hash(tmp_path):
    state = random_published_state("eccv16")
    bad = tmp_path / peers.PUBLISHED["eccv16"].file
    torch.save(state, bad)
    with pytest.raises(peers.WeightsError, match="its name says it starts with 9b330a0b"):
        peers.load_weights("eccv16", bad)
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    good = tmp_path / f"mine-{digest[:8]}.pth"
    bad.rename(good)
    _, record = peers.load_weights("eccv16", good)
    assert record["verified"].startswith(f"SHA-256 prefix {digest[:8]}")
    assert record["sha256"] == digest
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(peers.WeightsError, match="not a PyTorch state dict"):
        peers.load_weights("eccv16", tmp_path / "junk.pth")
    with pytest.raises(peers.WeightsError, match="no weights file"):
        peers.load_weights("eccv16", tmp_path / "absent.pth")


def test_old_files_without_num_batches_tracked_load():
    state = {k: v for k, v in random_published_state("siggraph17").items()}
    assert not any(k.endswith("num_batches_tracked") for k in state)
    peers.NETWORKS["siggraph17"]().load_state_dict(peers.check_state("siggraph17", state))


def test_the_test_set_is_colorized_from_gray_and_resumes(tmp_path):
    from colorcnn.color import rgb_to_y_uv_uint8

    root = tmp_path / "sun"
    rows = []
    for i, (h, w) in enumerate([(40, 56), (48, 32), (64, 64)]):
        p = root / "a" / "abbey" / f"x{i}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(natural_rgb(h, w, seed=i)).save(p, quality=95)
        rows.append({"path": f"a/abbey/x{i}.jpg", "category": "abbey"})
    net, _ = peers.load_weights("eccv16", "random")
    out = peers.colorize_test_set(net, root, rows, tmp_path / "out", batch_size=2)
    assert [p.name for p in out] == ["x0.jpg.png", "x1.jpg.png", "x2.jpg.png"]
    for r, p in zip(rows, out, strict=True):
        rgb = np.asarray(Image.open(root / r["path"]).convert("RGB"))
        want = peers.colorize_batch(net, [rgb_to_y_uv_uint8(rgb)[0]])[0]
        np.testing.assert_array_equal(np.asarray(Image.open(p)), want)
    stamp = out[1].stat().st_mtime_ns
    out[0].unlink()
    peers.colorize_test_set(net, root, rows, tmp_path / "out", batch_size=2)
    assert out[0].exists() and out[1].stat().st_mtime_ns == stamp  # only the missing one


def test_the_peer_puts_its_inputs_where_the_network_is():
    """The meta device stands in for a GPU: the run must get as far as copying the result
    back, not fail on mixed devices."""
    net = peers.ECCV16().eval().to("meta")
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        peers.colorize_batch(net, [natural_rgb(40, 48)])
