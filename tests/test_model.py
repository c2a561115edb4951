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
