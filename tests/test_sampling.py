import random
from collections import Counter

import pytest
from conftest import make_ilsvrc_tree

from colorcnn.sampling import (
    read_manifest,
    sample_training_set,
    stratified_sample,
    write_manifest,
)


def _classes(n_classes=10, per=lambda c: 20 + c):
    return {
        f"n{c:08d}": [f"n{c:08d}/img_{k}.JPEG" for k in range(per(c))] for c in range(n_classes)
    }


def test_deterministic_and_order_independent():
    classes = _classes()
    a = stratified_sample(classes, 57, seed=7)
    shuffled = {c: random.Random(3).sample(v, len(v)) for c, v in reversed(list(classes.items()))}
    b = stratified_sample(shuffled, 57, seed=7)
    assert a == b
    assert stratified_sample(classes, 57, seed=8) != a


def test_stratified_counts_differ_by_at_most_one():
    counts = Counter(e.cls for e in stratified_sample(_classes(), 57, seed=1))
    assert sum(counts.values()) == 57
    assert len(counts) == 10 and max(counts.values()) - min(counts.values()) <= 1


def test_small_classes_fall_short_without_unbalancing_others():
    classes = _classes(4, per=lambda c: 2 if c == 0 else 50)
    counts = Counter(e.cls for e in stratified_sample(classes, 62, seed=0))
    assert counts["n00000000"] == 2 and sorted(counts.values())[1:] == [20, 20, 20]


def test_adding_a_class_does_not_reshuffle_within_others():
    classes = _classes(5)
    a = {e.path for e in stratified_sample(classes, 25, seed=0)}
    classes["n99999999"] = ["n99999999/x.JPEG"] * 0 + [f"n99999999/{k}.JPEG" for k in range(30)]
    b = stratified_sample(classes, 30, seed=0)
    assert a == {e.path for e in b if e.cls != "n99999999"}


def test_too_many_fails_clearly_or_takes_all_when_allowed(caplog):
    classes = _classes(3, per=lambda c: 4)
    with pytest.raises(ValueError, match="asked for 13 images but only 12 exist.*allow_fewer"):
        stratified_sample(classes, 13, seed=0)
    assert len(stratified_sample(classes, 13, seed=0, allow_fewer=True)) == 12
    assert "taking all 12" in caplog.text


def test_ilsvrc_tree_and_manifest_round_trip(tmp_path):
    root = make_ilsvrc_tree(tmp_path / "ILSVRC", 6, lambda c: 3 + c, real_images=False)
    (root / "train" / "stray.JPEG").touch()
    (root / "train" / "n00000001" / "notes.txt").touch()
    data_root, entries = sample_training_set("ilsvrc", root, 12, seed=3)
    assert data_root == root / "train"
    assert Counter(e.cls for e in entries) == Counter({f"n{c:08d}": 2 for c in range(6)})
    assert all(e.path.endswith(".JPEG") and e.bytes == 0 for e in entries)
    write_manifest(tmp_path / "m.tsv", entries, data_root)
    assert read_manifest(tmp_path / "m.tsv") == (data_root, entries)


def test_odd_trees_neither_crash_nor_hide_files(tmp_path):
    """A dangling link is listed (prepare rejects it as missing); a linked class folder is
    followed; a link cycle ends."""
    root = make_ilsvrc_tree(tmp_path / "I", 2, 2, real_images=False)
    train = root / "train"
    (train / "n00000000" / "dangling.JPEG").symlink_to(tmp_path / "nowhere.JPEG")
    elsewhere = make_ilsvrc_tree(tmp_path / "other", 1, 3, real_images=False) / "train"
    (train / "n00000007").symlink_to(elsewhere / "n00000000", target_is_directory=True)
    (train / "n00000001" / "loop").symlink_to(train / "n00000001", target_is_directory=True)
    _, entries = sample_training_set("ilsvrc", root, 8, seed=0)
    paths = {e.path: e for e in entries}
    assert "n00000000/dangling.JPEG" in paths and paths["n00000000/dangling.JPEG"].bytes == -1
    assert sum(e.cls == "n00000007" for e in entries) == 3


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        sample_training_set("ilsvrc", tmp_path / "nope", 1, seed=0)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.JPEG").touch()
    with pytest.raises(ValueError, match="no class folders"):
        sample_training_set("ilsvrc", tmp_path, 1, seed=0)
    with pytest.raises(ValueError, match="source must be"):
        sample_training_set("imagenet", tmp_path, 1, seed=0)
    (tmp_path / "bad.tsv").write_text("path\tclass\tbytes\n")
    with pytest.raises(ValueError, match="no '# root: ...' line"):
        read_manifest(tmp_path / "bad.tsv")
    (tmp_path / "bad2.tsv").write_text("# root: x\npath\tclass\n")
    with pytest.raises(ValueError, match=r"header \['path', 'class'\], expected"):
        read_manifest(tmp_path / "bad2.tsv")


def test_a_file_name_that_is_not_utf8_is_sampled_and_written_losslessly(tmp_path):
    """Linux allows any bytes but / in a name (old archives are full of Latin-1 ones): it is
    sampled like any other, its name round-trips through the manifest, and it opens."""
    import os

    from colorcnn.config import PrepareOptions
    from colorcnn.shards import convert_image
    from colorcnn.testimages import save_jpeg

    root = make_ilsvrc_tree(tmp_path / "I", 2, 2)
    cls = root / "train" / "n00000000"
    odd = os.fsdecode(b"caf\xe9.JPEG")  # Latin-1 e-acute: not UTF-8
    save_jpeg(cls / odd, 80, 80, seed=7)
    got_root, entries = sample_training_set("ilsvrc", root, 5, seed=1)  # all five
    assert f"n00000000/{odd}" in {e.path for e in entries}  # relative to train/
    write_manifest(tmp_path / "m.tsv", entries, got_root)
    assert b"caf\xe9.JPEG" in (tmp_path / "m.tsv").read_bytes()  # the name's own bytes
    back_root, back = read_manifest(tmp_path / "m.tsv")
    assert [e.path for e in back] == [e.path for e in entries]
    y, _uv = convert_image(back_root / f"n00000000/{odd}", PrepareOptions(image_size=32))
    assert y.shape == (32, 32)


def test_held_out_images_are_named_in_the_message_and_never_silently_lost(caplog):
    """The manifest holds data.n_images + data.n_val_images rows: a shortfall names both, and
    allow_fewer must not shrink the validation set to nothing without a word."""
    classes = _classes(2, per=lambda c: 5)  # 10 files
    with pytest.raises(ValueError, match=r"data\.n_images 8 \+ data\.n_val_images 4 held out"):
        stratified_sample(classes, 12, seed=1, held_out=4)
    with pytest.raises(ValueError, match="validation set would be empty"):
        stratified_sample(classes, 14, seed=1, allow_fewer=True, held_out=4)
    with caplog.at_level("WARNING"):
        assert len(stratified_sample(classes, 12, seed=1, allow_fewer=True, held_out=4)) == 10
    assert "2 of them held out for validation" in caplog.text
