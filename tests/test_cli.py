"""The command line: each command, its early checks and its exit codes (colorcnn.cli)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_ilsvrc_tree, write_inputs
from PIL import Image

from colorcnn.cli import main
from colorcnn.testimages import natural_rgb, save_jpeg


def test_cli_refuses_colliding_inputs_before_loading_the_model(tmp_path, capsys):
    for k in ("one", "two"):
        save_jpeg(tmp_path / k / "photo.jpg", 30, 40)
    args = [
        "colorize",
        str(tmp_path / "one" / "photo.jpg"),
        str(tmp_path / "two" / "photo.jpg"),
        "-o",
        str(tmp_path / "out"),
        "--checkpoint",
        str(tmp_path / "nonexistent.pt"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "photo.jpg.png: " in err and "one/photo.jpg" in err and "two/photo.jpg" in err
    assert not (tmp_path / "out").exists()


def test_cli_colorize_exit_codes_and_early_output_checks(tmp_path, checkpoint, capsys):
    write_inputs(tmp_path / "in")
    good, bad = str(tmp_path / "in" / "small.jpg"), str(tmp_path / "in" / "corrupt.jpg")
    base = ["-o", str(tmp_path / "out"), "--checkpoint", str(checkpoint), "--quiet"]
    assert main(["colorize", good, *base]) == 0
    assert Image.open(tmp_path / "out" / "small.jpg.png").size == (53, 37)
    assert main(["colorize", good, bad, *base]) == 1  # some inputs failed
    out = capsys.readouterr()
    assert "wrote 1 images" in out.out and "1 failed" in out.out and "corrupt.jpg" in out.err
    (tmp_path / "afile").write_text("")
    nothing = ["--checkpoint", str(tmp_path / "nonexistent.pt"), "--quiet"]
    assert main(["colorize", good, "-o", str(tmp_path / "afile"), *nothing]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    unwritable = Path("/proc/colorcnn-out")  # not even root can create folders in /proc
    assert main(["colorize", good, "-o", str(unwritable), *nothing]) == 2
    assert "cannot write to the output folder /proc/colorcnn-out" in capsys.readouterr().err


def test_cli_score(tmp_path, capsys):
    Image.fromarray(natural_rgb(40, 60)).save(tmp_path / "a.png")
    assert main(["score", str(tmp_path / "a.png"), str(tmp_path / "a.png")]) == 0
    out = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert float(out["qssim"]) == 1.0 and out["psnr"] == "inf"


def test_cli_sample_and_prepare(tmp_path):
    from colorcnn.cli import main

    root = make_ilsvrc_tree(tmp_path / "I", 2, 3)
    assert main(["sample", str(root), "-o", str(tmp_path / "m.tsv"), "-n", "4", "--seed", "1"]) == 0
    out = tmp_path / "shards"
    args = ["prepare", str(tmp_path / "m.tsv"), "--shard-size", "4", "--out", str(out)]
    assert main([*args, "--image-size", "32", "--min-side", "16", "--no-reduced-decode"]) == 0
    assert np.load(out / "shard-00000.Y.npy").shape == (4, 32, 32)


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["colorize", "--help"],
        ["demo", "{tmp}/demo", "--train-per-source", "1", "--test-per-source", "1"],
        ["sample", "{tmp}/I", "-o", "{tmp}/m.tsv", "-n", "2", "--seed", "1"],
        [
            "prepare",
            "{tmp}/m.tsv",
            "--shard-size",
            "2",
            "--out",
            "{tmp}/s",
            "--image-size",
            "16",
            "--min-side",
            "8",
        ],
        ["score", "{tmp}/a.png", "{tmp}/a.png"],
    ],
    ids=lambda c: c[0] if c[0] != "colorize" else "colorize --help",
)
def test_commands_that_need_no_network_never_import_torch(tmp_path, command):
    """`colorcnn --help` starts at once (torch alone costs ~2 s of imports); only colorize
    needs torch, and only to run."""
    make_ilsvrc_tree(tmp_path / "I", 1, 2)
    main(["sample", str(tmp_path / "I"), "-o", str(tmp_path / "m.tsv"), "-n", "2", "--seed", "1"])
    Image.fromarray(natural_rgb(20, 30)).save(tmp_path / "a.png")
    args = [c.format(tmp=tmp_path) for c in command]
    code = (
        "import sys\nfrom colorcnn.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'snakemake') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "HEAVY []" in r.stdout, r.stdout[-500:]


def _colorize(tmp_path, *inputs, checkpoint, out=None, extra=()):
    out = out or tmp_path / "out"
    return main(
        [
            "colorize",
            *map(str, inputs),
            "-o",
            str(out),
            "--checkpoint",
            str(checkpoint),
            "--quiet",
            *extra,
        ]
    )


def test_a_checkpoint_that_does_not_fit_its_config_is_a_message_and_exit_2(
    tmp_path, checkpoint, capsys
):
    import torch

    save_jpeg(tmp_path / "in" / "a.jpg", 30, 40)
    ck = torch.load(checkpoint, weights_only=True)
    ck["head_config"]["a_channels"] += 1  # the weights are the other width
    torch.save(ck, tmp_path / "wrong.pt")
    del ck["model"]
    torch.save(ck, tmp_path / "nomodel.pt")
    for bad in ("wrong.pt", "nomodel.pt"):
        assert _colorize(tmp_path, tmp_path / "in", checkpoint=tmp_path / bad) == 2
        err = capsys.readouterr().err
        assert f"colorcnn colorize: checkpoint {tmp_path / bad}" in err and "Traceback" not in err


@pytest.mark.parametrize("size", ["0", "-1"])
def test_a_batch_size_below_one_is_refused_by_the_parser(tmp_path, checkpoint, size, capsys):
    save_jpeg(tmp_path / "in" / "a.jpg", 30, 40)
    with pytest.raises(SystemExit) as e:
        _colorize(tmp_path, tmp_path / "in", checkpoint=checkpoint, extra=["--batch-size", size])
    assert e.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_every_input_unreadable_is_exit_2(tmp_path, checkpoint, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_text("not an image")
    assert _colorize(tmp_path, tmp_path / "in", checkpoint=checkpoint) == 2
    assert "nothing could be colorized" in capsys.readouterr().err


def test_an_output_folder_inside_the_input_folder_is_not_colorized_again(tmp_path, checkpoint):
    save_jpeg(tmp_path / "in" / "a.jpg", 30, 40)
    out = tmp_path / "in" / "colorized"
    for _ in range(2):
        assert _colorize(tmp_path, tmp_path / "in", checkpoint=checkpoint, out=out) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["a.jpg.png"]


def test_leftovers_of_a_killed_run_are_removed(tmp_path, checkpoint):
    save_jpeg(tmp_path / "in" / "a.jpg", 30, 40)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".tmp-12345-a.jpg.png").write_bytes(b"half a PNG")  # SIGTERM while writing
    assert _colorize(tmp_path, tmp_path / "in", checkpoint=checkpoint) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg.png"]


def test_cli_score_applies_exif_rotation_and_explains_two_sizes(tmp_path, capsys):
    from colorcnn.testimages import exif_segment

    rgb = natural_rgb(40, 60)
    Image.fromarray(rgb).save(
        tmp_path / "rot.jpg", quality=95, exif=exif_segment([(0x0112, 3, 1, 6)])
    )
    upright = np.asarray(Image.open(tmp_path / "rot.jpg").transpose(Image.Transpose.ROTATE_270))
    Image.fromarray(upright).save(tmp_path / "col.png")  # what colorize writes: upright
    assert main(["score", str(tmp_path / "rot.jpg"), str(tmp_path / "col.png")]) == 0
    Image.fromarray(natural_rgb(30, 30)).save(tmp_path / "small.png")
    assert main(["score", str(tmp_path / "col.png"), str(tmp_path / "small.png")]) == 2
    err = capsys.readouterr().err
    assert "different sizes" in err and "Traceback" not in err
