"""Durable writes: nothing half-written under the final name, leftovers of killed writers
removed (colorcnn.files)."""

from __future__ import annotations

import pytest

from colorcnn.files import atomic_path, remove_leftovers, tmp_name


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "sub" / "out.tsv"
    with atomic_path(path) as tmp:
        tmp.write_text("first")
    assert path.read_text() == "first" and tmp == tmp_name(path)
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "first"  # the finished file is untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.tsv"]


def test_leftovers_of_any_process_are_removed_and_only_those(tmp_path):
    path = tmp_path / "x.npy"
    mine, other_pid = tmp_path / ".tmp-1-x.npy", tmp_path / ".tmp-99999-x.npy"
    unrelated = tmp_path / ".tmp-1-y.npy"
    for p in (mine, other_pid, unrelated):
        p.write_bytes(b"0")
    assert sorted(p.name for p in remove_leftovers(path, tmp_path / "none" / "z")) == [
        ".tmp-1-x.npy",
        ".tmp-99999-x.npy",
    ]
    assert unrelated.exists() and not mine.exists()
