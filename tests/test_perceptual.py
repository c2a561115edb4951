"""LPIPS and FID (colorcnn.perceptual) against independent restatements: LPIPS v0.1 written out
from the lpips package's code with torch.nn.functional from the state dicts; pytorch-fid's
Inception patches (pools that leave the padding out, a max pool in the last block) written
another way; the Fréchet distance as pytorch-fid computes it (scipy's sqrtm). Random values
under the published keys and shapes stand in for the published files."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorcnn import perceptual as P
from colorcnn.statedicts import WeightsError
from colorcnn.testimages import natural_rgb

VGG_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]


def random_vgg_state(seed: int = 0, classifier: bool = True) -> dict:
    """torchvision's VGG-16 file's keys (``features.*``, and a classifier LPIPS ignores)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in P.vgg_shapes().items():
        fan_in = np.prod(shape[1:]) if len(shape) > 1 else 1
        scale = (2.0 / fan_in) ** 0.5 if len(shape) > 1 else 0.05
        state[k] = torch.randn(shape, generator=g) * scale
    if classifier:
        state["classifier.6.bias"] = torch.zeros(1000)
    return state


def random_lin_state(seed: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.rand(shape, generator=g) for k, shape in P.lin_shapes().items()}


def random_inception_state(seed: int = 2) -> dict:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in P.inception_shapes().items():
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(0)
        elif k.endswith("running_var"):
            state[k] = torch.rand(shape, generator=g) + 0.5
        elif k.endswith(("running_mean", "bias")):
            state[k] = torch.randn(shape, generator=g) * 0.1
        elif len(shape) == 1:  # batch norm's gamma
            state[k] = torch.rand(shape, generator=g) + 0.5
        else:
            state[k] = torch.randn(shape, generator=g) * (2.0 / np.prod(shape[1:])) ** 0.5
    return state


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """The three weights files, random values under the published keys and shapes."""
    d = tmp_path_factory.mktemp("perceptual-weights")
    files = {"vgg": d / "vgg16.pth", "lin": d / "vgg.pth", "fid": d / "inception.pth"}
    torch.save(random_vgg_state(), files["vgg"])
    torch.save(random_lin_state(), files["lin"])
    torch.save(random_inception_state(), files["fid"])
    return files


def lpips_restated(x: np.ndarray, y: np.ndarray, vgg: dict, lin: dict) -> float:
    """The lpips package's ``LPIPS(net='vgg', version='0.1')(in0, in1, normalize=True)``,
    written out: [0, 1] to [-1, 1], ScalingLayer, VGG-16 features with relu1_2 .. relu5_3
    taken, normalize_tensor, squared difference, lin layers, spatial average, sum."""
    shift = torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None]
    scale = torch.tensor([0.458, 0.448, 0.450])[None, :, None, None]

    def taps(img):
        h = torch.from_numpy(img).permute(2, 0, 1)[None].double() / 255
        h = (2 * h - 1 - shift) / scale
        out, idx = [], 0  # idx: the layer's index in vgg16().features
        for c in VGG_CFG:
            if c == "M":
                out.append(h)  # the relu before each pool is a tap
                h = F.max_pool2d(h, 2, 2)
                idx += 1
                continue
            w, b = vgg[f"features.{idx}.weight"].double(), vgg[f"features.{idx}.bias"].double()
            h = F.relu(F.conv2d(h, w, b, padding=1))
            idx += 2
        out.append(h)  # relu5_3
        return [t / (torch.sqrt(torch.sum(t**2, dim=1, keepdim=True)) + 1e-10) for t in out]

    total = 0.0
    for k, (a, b) in enumerate(zip(taps(x), taps(y), strict=True)):
        d = (a - b) ** 2
        total += float(F.conv2d(d, lin[f"lin{k}.model.1.weight"].double()).mean())
    return total


def test_lpips_matches_the_lpips_packages_computation_restated(weights):
    net, record = P.load_lpips(str(weights["lin"]), str(weights["vgg"]))
    vgg, lin = random_vgg_state(), random_lin_state()
    a, b, c = natural_rgb(40, 56, 0), natural_rgb(40, 56, 1), natural_rgb(40, 56, 2)
    want = [lpips_restated(a, b, vgg, lin), lpips_restated(a, c, vgg, lin)]
    t = torch.from_numpy(np.stack([a, b, c])).permute(0, 3, 1, 2).float() / 255
    with torch.inference_mode():
        got = net.distances(t[:1], t[1:]).numpy()
        pair = net(t[:1].expand(2, -1, -1, -1), t[1:]).numpy()
        same = net(t[:1], t[:1]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4)
    np.testing.assert_allclose(pair, got, rtol=1e-5)
    assert same[0] == 0 and all(v > 0 for v in got)
    assert record["lpips_vgg"]["verified"] == "published keys and shapes"
    assert record["lpips_lin"]["sha256"] == hashlib.sha256(weights["lin"].read_bytes()).hexdigest()


def test_lpips_weights_are_refused_listing_why(tmp_path, weights):
    lin = random_lin_state()
    lin["lin2.model.1.weight"] = torch.rand(1, 128, 1, 1)
    torch.save(lin, tmp_path / "lin.pth")
    with pytest.raises(WeightsError, match=r"lin2.model.1.weight \(1, 128, 1, 1\) \(publi"):
        P.load_lpips(str(tmp_path / "lin.pth"), str(weights["vgg"]))
    # a file under torchvision's published name is held to the hash that name carries
    (tmp_path / "vgg16-397923af.pth").write_bytes(weights["vgg"].read_bytes())
    with pytest.raises(WeightsError, match="its name says it starts with 397923af"):
        P.load_lpips(str(weights["lin"]), str(tmp_path / "vgg16-397923af.pth"))
    state = random_vgg_state()
    del state["features.28.bias"]
    torch.save(state, tmp_path / "vgg.pth")
    with pytest.raises(WeightsError, match="1 missing keys: features.28.bias"):
        P.load_lpips(str(weights["lin"]), str(tmp_path / "vgg.pth"))
    with pytest.raises(WeightsError, match="no weights file"):
        P.load_lpips(str(tmp_path / "absent.pth"), str(weights["vgg"]))


def test_the_fid_inception_has_pytorch_fids_keys_and_shapes():
    shapes = P.inception_shapes()
    assert shapes["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert shapes["fc.weight"] == (1008, 2048)
    assert shapes["Mixed_7c.branch_pool.conv.weight"] == (192, 2048, 1, 1)
    assert shapes["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert not [k for k in shapes if k.startswith("AuxLogits")]
    # 94 BasicConv2d (conv weight; bn weight, bias, mean, var, count) and the classifier
    assert len(shapes) == 94 * 6 + 2


def _pool_without_padding(x):
    """A 3x3 average that leaves the padding out of the mean, written as sum / count."""
    ones = torch.ones_like(x[:, :1])
    return F.avg_pool2d(x, 3, 1, 1, divisor_override=1) / F.avg_pool2d(
        ones, 3, 1, 1, divisor_override=1
    )


def _max_by_unfold(x):
    n, c, h, w = x.shape
    cols = F.unfold(F.pad(x, (1, 1, 1, 1), value=float("-inf")), 3)
    return cols.view(n, c, 9, h * w).amax(2).view(n, c, h, w)


@pytest.mark.parametrize(
    "block, channels, pool",
    [
        ("Mixed_5b", 192, _pool_without_padding),
        ("Mixed_6b", 768, _pool_without_padding),
        ("Mixed_7b", 1280, _pool_without_padding),
        ("Mixed_7c", 2048, _max_by_unfold),
    ],
)
def test_the_fid_inception_blocks_pool_as_pytorch_fid_patches_them(block, channels, pool):
    """Each patched block's pool branch (its last channels) against the patch written another
    way; the other branches are torchvision's (the whole output of the unpatched block
    agrees there)."""
    torch.manual_seed(0)
    net = P.fid_inception().eval()
    net.load_state_dict(random_inception_state())
    m = getattr(net, block)
    x = torch.randn(2, channels, 9, 9)
    with torch.inference_mode():
        got = m(x)
        want = m.branch_pool(pool(x))
    k = want.shape[1]
    torch.testing.assert_close(got[:, -k:], want, rtol=1e-5, atol=1e-5)


def test_inception_features_resize_bilinear_to_299_and_map_to_minus_one_one(weights):
    net, record = P.load_inception(str(weights["fid"]))
    img = natural_rgb(120, 90, 3)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    big = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.inference_mode():
        f = P.inception_features(net, x)
        f299 = P.inception_features(net, big)  # already 299: the resize is the identity
        g = net.Mixed_5b(
            F.max_pool2d(
                net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(F.max_pool2d(net.Conv2d_2b_3x3(
                    net.Conv2d_2a_3x3(net.Conv2d_1a_3x3(2 * big - 1))), 3, 2))), 3, 2)
        )  # fmt: skip
    assert f.shape == (1, 2048)
    torch.testing.assert_close(f, f299)
    h = g
    for name in ("5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
        h = getattr(net, f"Mixed_{name}")(h)
    torch.testing.assert_close(f, F.adaptive_avg_pool2d(h, 1).flatten(1))
    assert record["fid_inception"]["published"] is False


def frechet_pytorch_fid(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-fid's ``calculate_frechet_distance`` of the two sets' statistics."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n, m, d", [(40, 40, 12), (9, 9, 12), (7, 11, 12)])
def test_the_frechet_distance_is_pytorch_fids(n, m, d):
    rng = np.random.default_rng(n + m)
    mix = rng.normal(size=(d, d))
    a = rng.normal(size=(n, d)) @ mix
    b = rng.normal(size=(m, d)) @ mix * 1.3 + 0.5
    got = P.frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert got == pytest.approx(frechet_pytorch_fid(a, b), rel=1e-6, abs=1e-6)
    assert P.frechet_distance(torch.from_numpy(a), torch.from_numpy(a)) == pytest.approx(
        0, abs=1e-8
    )


def test_fid_interval_is_a_bootstrap_over_the_same_images_and_averages_seeds():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(60, 8))
    near = truth + rng.normal(scale=0.1, size=truth.shape)
    far = truth + rng.normal(scale=1.0, size=truth.shape) + 1.0
    same = P.fid_with_interval([truth], truth, n_boot=50)
    assert same["fid"] == pytest.approx(0, abs=1e-8) and same["fid_hi"] == pytest.approx(
        0, abs=1e-6
    )
    r_near, r_far = (P.fid_with_interval([x], truth, n_boot=200) for x in (near, far))
    assert r_near["fid_lo"] <= r_near["fid"] <= r_near["fid_hi"] < r_far["fid_lo"]
    assert r_far["fid_lo"] <= r_far["fid"] <= r_far["fid_hi"]
    both = P.fid_with_interval([near, far], truth, n_boot=50)
    assert both["fid"] == pytest.approx((r_near["fid"] + r_far["fid"]) / 2)
    assert (both["seeds"], both["n"], both["n_boot"]) == (2, 60, 50)


def test_score_perceptual_scores_each_candidate_against_its_original(tmp_path, weights):
    """An output that is the original: LPIPS 0 and the originals' features (FID 0); the gray
    baseline: LPIPS above 0; every row names its system."""
    from colorcnn.scoring import ScoreJob
    from colorcnn.systems import EXTERNAL, GRAY

    nets = P.load_nets(str(weights["lin"]), str(weights["vgg"]), str(weights["fid"]))
    jobs = []
    for i in range(3):
        path = tmp_path / f"x{i}.png"
        Image.fromarray(natural_rgb(48, 64, i)).save(path)
        jobs.append(ScoreJob(f"x{i}.png", "c", str(path), prediction=str(path),
                             baselines=(GRAY,), run={"variant": "copy", "seed": ""},
                             method=EXTERNAL))  # fmt: skip
    rows, feats, images = P.score_perceptual(jobs, nets, truth=True, progress=False)
    assert images == ["x0.png", "x1.png", "x2.png"]
    by = {(r["method"], r["image"]): r for r in rows}
    assert all(by[(EXTERNAL, f"x{i}.png")]["lpips"] == 0 for i in range(3))
    assert all(by[(EXTERNAL, f"x{i}.png")]["variant"] == "copy" for i in range(3))
    assert all(by[(GRAY, f"x{i}.png")]["lpips"] > 0 for i in range(3))
    assert set(feats) == {P.TRUTH, P.feature_key(GRAY, "", ""), P.feature_key(EXTERNAL, "copy", "")}
    np.testing.assert_array_equal(feats[P.feature_key(EXTERNAL, "copy", "")], feats[P.TRUTH])
    assert feats[P.TRUTH].shape == (3, 2048)
    only_fid = P.load_nets(fid=str(weights["fid"]))
    rows, feats, _ = P.score_perceptual(jobs, only_fid, progress=False)
    assert rows == [] and P.TRUTH not in feats and len(feats) == 2
