"""File names derived from what the files hold (colorcnn.layout)."""

from __future__ import annotations

from pathlib import Path

from colorcnn.layout import (
    RUN_FOLDER,
    SHARD_KINDS,
    SHARD_NAME,
    is_image_name,
    output_name,
    shard_id,
)


def test_image_names():
    assert is_image_name("n01440764_10026.JPEG") and is_image_name("sun_x.webp")
    assert not is_image_name("README.txt") and not is_image_name(".tmp-12-sun_x.jpg")


def test_colorization_names_keep_the_whole_source_name():
    assert output_name("a/abbey/sun_x.jpg") == Path("a/abbey/sun_x.jpg.png")
    assert output_name("sun_x.jpg") != output_name("sun_x.png")


def test_shard_and_run_names():
    assert SHARD_NAME.format(shard=shard_id(3), kind=SHARD_KINDS["UV"]) == "shard-00003.UV.npy"
    assert RUN_FOLDER.format(variant="paper", seed=2016) == "paper/seed2016"
