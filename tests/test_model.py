"""The paper's network: T's and Q's widths, taps, the folded inference network
(colorcnn.model)."""

from __future__ import annotations

import pytest
import torch
from conftest import random_net

from colorcnn.config import HeadConfig


@pytest.mark.parametrize("h, w", [(16, 16), (32, 20), (36, 52)])
def test_hypercolumn_has_451_channels_and_q_144(h, w):
    model = random_net()
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
    model = random_net(HeadConfig(taps=taps))
    assert model.hypercolumn(torch.rand(1, 1, 16, 16) * 255).shape[1] == width
    assert len(model.hypercolumn.features) == layers  # only the layers a tap needs run
    assert model.head.a[0].in_channels == width


@pytest.mark.parametrize("taps", [("input", "conv1_2", "conv2_2", "conv3_3"), ("conv3_3",)])
def test_inference_net_computes_the_same_function(taps):
    """Folded input channels, folded batch norm, T never assembled: the same logits."""
    from colorcnn.model import InferenceNet

    net = random_net(HeadConfig(taps=taps))
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
        random_net()(torch.zeros(1, 1, 18, 16))


# --- under bf16 autocast (the GPU settings, here on the CPU) -------------------------------------


def test_t_under_autocast_is_one_bf16_channels_last_tensor():
    """T was float32 (torch.cat promoted the float32 input tap; CUDA autocast upsamples in
    float32) and contiguous, so each branch convolution cast its own bf16 copy of 451
    channels. Under autocast it must be built once in bf16, in the weights' memory format."""
    net = random_net().to(memory_format=torch.channels_last)
    y = torch.rand(2, 1, 32, 32) * 255
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t = net.hypercolumn(y)
    assert t.dtype == torch.bfloat16 and t.shape[1] == 451
    assert t.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = net.hypercolumn(y)  # float32, no autocast
    assert ref.dtype == torch.float32
    assert ref.is_contiguous(memory_format=torch.channels_last)
    # bf16 keeps 8 significant bits; seven convolutions deep, each tap of T stays within 2%
    # of its float32 range and within 1% on average
    for lo, hi in ((0, 3), (3, 67), (67, 195), (195, 451)):
        err, want = (t.float() - ref)[:, lo:hi].abs(), ref[:, lo:hi].abs()
        assert err.max() < 0.02 * want.max() and err.mean() < 0.01 * want.mean()


def test_bilinear_upsampling_in_bf16_is_within_one_rounding_of_float32():
    """The stated tolerance for upsampling T's taps in bf16 instead of float32: each output
    within 2**-8 of its magnitude beyond the float32 result rounded to bf16 (one rounding)."""
    from colorcnn.model import upsample

    torch.manual_seed(0)
    x = (torch.randn(2, 64, 28, 28) * 3).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = upsample(x, (112, 112))
    assert got.dtype == torch.bfloat16
    want = torch.nn.functional.interpolate(x.float(), (112, 112), mode="bilinear")
    err = (got.float() - want).abs()
    assert (err <= 2**-8 * want.abs() + 2**-8 * x.float().abs().amax()).all()


def test_inference_net_under_bf16_autocast_stays_in_bf16():
    """The folded network too: no float32 upsampling of its bf16 parts; UV within 2 levels."""
    from colorcnn.model import InferenceNet

    net = random_net().eval()
    inf = InferenceNet(net)
    y = torch.rand(2, 1, 32, 32) * 255
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = inf(y)
    assert out.dtype == torch.bfloat16
    ref = net.predict_uv(y)
    got = torch.sigmoid(out.float()) * 255
    assert (got - ref).abs().max() < 2.0
