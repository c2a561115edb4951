"""The checkpoint format: a damaged or foreign file names itself and the fix
(colorcnn.checkpoint)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_job

import colorcnn.train as T
from colorcnn.checkpoint import CheckpointError
from colorcnn.testimages import write_shards


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


def test_the_same_checkpoint_is_the_same_bytes_wherever_it_is_written(tmp_path):
    """torch.save to a path records the (temporary) file name in the archive; two identical
    runs wrote model.pt files that differed."""
    from conftest import small_model

    from colorcnn.checkpoint import save_checkpoint

    model = small_model()
    for name in ("a/last.pt", "b/model.pt"):
        save_checkpoint(tmp_path / name, model, step=3, config={"image_size": 32})
    assert (tmp_path / "a/last.pt").read_bytes() == (tmp_path / "b/model.pt").read_bytes()
