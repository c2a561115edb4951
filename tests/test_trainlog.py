"""The metrics table of a run: window means, validation time excluded from the throughput, the
non-finite stop, resumed history (colorcnn.trainlog)."""

from __future__ import annotations

import time

import pytest
import torch

from colorcnn.runtime import Runtime
from colorcnn.tables import METRICS_COLUMNS, read_frame
from colorcnn.trainlog import MetricsLog, NonFiniteLoss

RT = Runtime(0, 1, torch.device("cpu"), False, torch.contiguous_format)


def test_a_row_per_window_with_its_mean_loss(tmp_path):
    log = MetricsLog(tmp_path / "m.tsv", RT, batch_size=4, backbone="random", start=0)
    for loss in (1.0, 3.0):
        log.add(torch.tensor(loss))
    log.flush(2, 0, 0.08, None, None)
    log.add(torch.tensor(0.5))
    log.flush(3, 1, 0.04, 0.25, None)
    df = read_frame(tmp_path / "m.tsv")
    assert list(df.columns) == list(METRICS_COLUMNS)
    assert df["loss"].tolist() == [2.0, 0.5] and df["lr"].tolist() == [0.08, 0.04]
    assert df["val_loss"].isna().tolist() == [True, False] and df["val_loss"].iloc[1] == 0.25
    assert (df["backbone_weights"] == "random").all()


def test_validation_time_does_not_count_as_training_time(tmp_path):
    log = MetricsLog(tmp_path / "m.tsv", RT, batch_size=100, backbone="random", start=0)
    log.add(torch.tensor(1.0))
    with log.paused():
        time.sleep(0.5)  # validation
    log.flush(1, 0, 0.1, 0.5, None)
    speed = read_frame(tmp_path / "m.tsv")["images_per_s"].iloc[0]
    assert speed > 1000  # 100 images in well under the half second spent validating


def test_a_non_finite_loss_stops_naming_the_last_good_checkpoint(tmp_path):
    log = MetricsLog(tmp_path / "m.tsv", RT, batch_size=4, backbone="random", start=0)
    log.add(torch.tensor(float("nan")))
    log.add(torch.tensor(1.0))
    with pytest.raises(NonFiniteLoss, match="at or before step 8 .*last good checkpoint is ck.pt"):
        log.flush(8, 1, 0.1, None, "ck.pt")
    assert not (tmp_path / "m.tsv").exists()  # nothing written for the bad window


def test_a_resumed_run_keeps_its_history_up_to_the_checkpoint(tmp_path):
    path = tmp_path / "m.tsv"
    log = MetricsLog(path, RT, batch_size=4, backbone="random", start=0)
    for step in range(1, 6):
        log.add(torch.tensor(1.0))
        log.flush(step, 0, 0.1, None, None)
    MetricsLog(path, RT, batch_size=4, backbone="random", start=3)  # resumed from step 3
    assert read_frame(path)["step"].tolist() == [1, 2, 3]
