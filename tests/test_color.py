import numpy as np
import pytest
import torch

from colorcnn import color


def test_known_values():
    yuv = color.rgb_to_yuv(np.array([[255, 0, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0]]))
    np.testing.assert_allclose(yuv[0], [76.245, 84.97232, 255.5], atol=1e-9)
    np.testing.assert_allclose(yuv[1], [29.07, 255.5, 107.26544], atol=1e-9)
    np.testing.assert_allclose(yuv[2], [255, 128, 128], atol=1e-9)
    np.testing.assert_allclose(yuv[3], [0, 128, 128], atol=1e-9)


def test_inverse_agrees_with_jfif_printed_inverse():
    np.testing.assert_allclose(color.YUV_TO_RGB, color.YUV_TO_RGB_JFIF, rtol=0, atol=1.5e-6)
    np.testing.assert_allclose(color.YUV_TO_RGB @ color.RGB_TO_YUV, np.eye(3), atol=1e-12)


def test_float_round_trip_is_exact():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 255, size=(10_000, 3))
    back = color.yuv_to_rgb(color.rgb_to_yuv(rgb), clip=False)
    np.testing.assert_allclose(back, rgb, rtol=0, atol=1e-9)


def test_uint8_storage_round_trip_within_two_levels_over_dense_rgb_grid():
    v = np.arange(0, 256, 3, dtype=np.uint8)  # 86^3 = 636k colours
    rgb = np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(1, -1, 3)
    y, uv = color.rgb_to_y_uv_uint8(rgb)
    assert y.dtype == np.uint8 and uv.dtype == np.uint8 and uv.shape == (2, *y.shape)
    back = color.y_uv_to_rgb_uint8(y, uv)
    err = np.abs(back.astype(int) - rgb.astype(int))
    assert err.max() <= 2, err.max()


def test_storage_conversion_matches_float_formula_except_at_exact_ties():
    v = np.arange(0, 256, 3, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(1, -1, 3)
    y, uv = color.rgb_to_y_uv_uint8(rgb)
    ref = color.quantize(color.rgb_to_yuv(rgb))
    got = np.stack([y, uv[0], uv[1]], axis=-1)
    differ = np.nonzero(got != ref)
    # exact value x 1e6 is an integer: a difference is allowed only where it is a tie (x.5)
    exact = rgb.astype(np.int64) @ np.rint(color.RGB_TO_YUV.T * 1e6).astype(np.int64)
    exact[..., 1:] += 128_000_000
    assert np.all(exact[differ] % 1_000_000 == 500_000)
    assert len(differ[0]) < 1e-3 * got.size


def test_quantize_rounds_and_clips():
    assert color.quantize(np.array([-3.0, 0.49, 0.5, 1.5, 254.6, 255.5, 300])).tolist() == [
        0,
        0,
        0,
        2,
        255,
        255,
        255,
    ]


def test_torch_inverse_matches_numpy():
    rng = np.random.default_rng(1)
    yuv = color.rgb_to_yuv(rng.uniform(0, 255, size=(2, 5, 7, 3)))
    t = torch.from_numpy(yuv).permute(0, 3, 1, 2)
    back = color.yuv_to_rgb_torch(t, clip=False).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(back, color.yuv_to_rgb(yuv, clip=False), atol=1e-9)


def test_colorize_recombination_is_within_one_level_of_float64():
    """The float32 torch recombination (colorize) against the float64 numpy formulas."""
    from colorcnn.colorize import recombine

    rng = np.random.default_rng(2)
    y = rng.uniform(0, 255, (37, 53))
    uv_small = torch.from_numpy(rng.uniform(0, 255, (2, 8, 8))).float()
    uv = torch.nn.functional.interpolate(uv_small[None].double(), (37, 53), mode="bilinear")[0]
    ref = color.quantize(color.yuv_to_rgb(np.stack([y, uv[0].numpy(), uv[1].numpy()], -1)))
    got = recombine(y, uv_small)
    assert got.dtype == np.uint8 and np.abs(got.astype(int) - ref).max() <= 1


def test_gray_has_neutral_chroma():
    g = np.full((4, 4, 3), 77, np.uint8)
    _, uv = color.rgb_to_y_uv_uint8(g)
    assert (uv == 128).all()
    assert color.chroma_magnitude(uv) == 0.0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="3 channels in the last axis"):
        color.rgb_to_yuv(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="does not match Y shape"):
        color.y_uv_to_rgb_uint8(np.zeros((4, 4)), np.zeros((2, 4, 5)))
