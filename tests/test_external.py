"""Another method's outputs scored by the same code: matching, resizing, the study's external
systems and ``colorcnn evaluate`` (colorcnn.external)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from colorcnn.cli import main
from colorcnn.color import rgb_to_yuv
from colorcnn.external import evaluate_folder, match_outputs, score_external, truth_rows
from colorcnn.study import paired, per_image
from colorcnn.systems import GRAY, baseline_rgb, system_scores
from colorcnn.testimages import save_jpeg


def _truth(root):
    for cat in ("a/abbey", "b/bedroom"):
        for k in range(4):
            save_jpeg(root / cat / f"sun_{k}.jpg", 40 + 4 * k, 52, seed=k + 10 * len(cat))
    return root


def _write(outputs, truth, fn, suffix=".png"):
    """For each truth image, ``fn(rgb)`` saved under outputs with the same relative name."""
    for rel in (r["path"] for r in truth_rows(truth)):
        rgb = np.asarray(Image.open(truth / rel).convert("RGB"))
        dest = (outputs / rel).with_suffix(suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(fn(rgb)).save(dest)


def test_outputs_match_by_name_without_extension_and_nothing_is_dropped(tmp_path):
    truth = _truth(tmp_path / "truth")
    out = tmp_path / "out"
    _write(out, truth, lambda rgb: rgb)  # x.jpg -> x.png
    (out / "a" / "abbey" / "sun_0.png").unlink()  # missing
    Image.new("RGB", (4, 4)).save(out / "a" / "abbey" / "extra.png")  # unmatched
    Image.new("RGB", (4, 4)).save(out / "b" / "bedroom" / "sun_1.jpg")  # beside sun_1.png
    (out / "b" / ".tmp-1-sun_2.png").write_bytes(b"a writer's leftover")  # never an image
    m = match_outputs(out, [r["path"] for r in truth_rows(truth)])
    assert m.missing == ["a/abbey/sun_0.jpg"]
    assert m.unmatched == ["a/abbey/extra.png"]
    assert list(m.ambiguous) == ["b/bedroom/sun_1.jpg"]
    assert len(m.pairs) == 6 and not m.complete
    text = m.problems()
    assert "1 missing" in text and "1 unmatched" in text and "1 ambiguous" in text
    rows = truth_rows(truth)
    with pytest.raises(ValueError, match="does not match the test set"):
        score_external("x", out, truth, rows)


def test_an_external_system_of_the_originals_scores_one_and_beats_gray(tmp_path):
    truth = _truth(tmp_path / "truth")
    _write(tmp_path / "out", truth, lambda rgb: rgb, suffix=".jpg.png")  # as colorize names
    scores, summary, vs_gray, m = evaluate_folder(tmp_path / "out", truth, name="perfect")
    assert m.complete and len(scores) == 2 * 8
    ours = scores[scores["method"] == "external"]
    assert np.allclose(ours["qssim"], 1.0) and (ours["delta_e00"] < 1e-9).all()
    q = vs_gray.set_index("metric").loc["qssim"]
    assert q["delta"] > 0 and q["win"] == 1.0 and q["lo"] > 0
    assert set(summary["system"]) == {"perfect", GRAY}


def test_an_external_system_of_gray_copies_is_the_gray_baseline_image_by_image(tmp_path):
    """Gray copies, saved as 8-bit gray files, recombine to what the gray baseline is."""
    truth = _truth(tmp_path / "truth")
    _write(
        tmp_path / "out",
        truth,
        lambda rgb: baseline_rgb(GRAY, rgb_to_yuv(rgb)[..., 0]),
    )
    scores, _, vs_gray, _ = evaluate_folder(tmp_path / "out", truth, name="grey")
    for metric in ("qssim", "psnr", "cf", "delta_e00"):
        wide = per_image(scores, metric)
        np.testing.assert_array_equal(wide["grey"].to_numpy(), wide[GRAY].to_numpy())
    assert (vs_gray["delta"] == 0).all()


def test_another_size_is_resized_with_a_warning_or_refused(tmp_path, caplog):
    truth = _truth(tmp_path / "truth")
    _write(
        tmp_path / "out",
        truth,
        lambda rgb: np.asarray(Image.fromarray(rgb).resize((64, 64))),  # as many methods
    )
    scores, *_ = evaluate_folder(tmp_path / "out", truth, name="small")
    assert (scores["qssim"] > 0.5).all() and "resized to it" in caplog.text
    with pytest.raises(ValueError, match="differs from the original's"):
        evaluate_folder(tmp_path / "out", truth, name="small", resize=False)


def test_external_systems_join_the_study_as_systems(tmp_path):
    """Rows of an external system are a system of their own, after the variants."""
    truth = _truth(tmp_path / "truth")
    _write(tmp_path / "out", truth, lambda rgb: rgb)
    rows = truth_rows(truth)
    ext, _ = score_external("mine", tmp_path / "out", truth, rows)
    assert set(ext["method"]) == {"external"} and set(ext["variant"]) == {"mine"}
    long = system_scores(ext)
    assert set(long["system"]) == {"mine"} and len(long) == len(rows)
    p = paired(long["qssim"], long["qssim"])
    assert p["delta"] == 0


def test_colorcnn_evaluate(tmp_path, capsys):
    truth = _truth(tmp_path / "truth")
    _write(tmp_path / "out", truth, lambda rgb: rgb)
    assert main(["evaluate", str(tmp_path / "out"), "--truth", str(truth),
                 "-o", str(tmp_path / "s.tsv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "QSSIM" in out and "outputs − gray" in out
    scores = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert set(scores["method"]) == {"external", GRAY} and len(scores) == 16
    (tmp_path / "out" / "a" / "abbey" / "sun_0.png").unlink()
    assert main(["evaluate", str(tmp_path / "out"), "--truth", str(truth)]) == 1
    err = capsys.readouterr().err
    assert "1 missing" in err and "a/abbey/sun_0.jpg" in err
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(tmp_path / "empty"), "--truth", str(truth)]) == 2
    assert main(["evaluate", str(tmp_path / "nope"), "--truth", str(truth)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_colorcnn_evaluate_under_the_val5k_protocol(tmp_path, capsys):
    """--protocol val5k prepares the truth from a flat val folder (centre crop, 256x256) as
    the workflow does: outputs that are those prepared originals score QSSIM 1; the same
    images uncropped (resized to 256x256 whole) do not."""
    from test_testset import make_val_folder

    from colorcnn.testset import prepare_protocol_image

    val = make_val_folder(tmp_path / "val")
    for crop, name in ((True, "prepared"), (False, "uncropped")):
        for p in sorted(val.glob("ILSVRC2012_val_0000000[1-5].JPEG")):
            rgb = np.asarray(Image.open(p).convert("RGB"))
            out = prepare_protocol_image(rgb, "val5k" if crop else "val50k")
            (tmp_path / name).mkdir(exist_ok=True)
            Image.fromarray(out).save(tmp_path / name / f"{p.stem}.png")
    args = ["--truth", str(val), "--protocol", "val5k", "-o"]
    assert main(["evaluate", str(tmp_path / "prepared"), *args, str(tmp_path / "p.tsv")]) == 1
    err = capsys.readouterr().err
    assert "ILSVRC2012_val_00000007.JPEG: unreadable" in err  # listed, not in the truth
    assert "1 missing" in err and "ILSVRC2012_val_00000006.png" in err  # the gray one
    assert main(["evaluate", str(tmp_path / "uncropped"), *args, str(tmp_path / "u.tsv")]) == 1
    p, u = (pd.read_csv(tmp_path / f, sep="\t") for f in ("p.tsv", "u.tsv"))
    p, u = (t[t["method"] == "external"] for t in (p, u))
    assert len(p) == 5 and np.allclose(p["qssim"], 1.0)
    assert (u["qssim"] < 0.99).any()
