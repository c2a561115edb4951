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


def test_the_listing_digest_sees_added_deleted_renamed_and_rewritten_files(tmp_path):
    import os
    import time

    from colorcnn.files import listing_digest

    root = tmp_path / "root"
    (root / "a" / "abbey").mkdir(parents=True)
    for k in range(3):
        (root / "a" / "abbey" / f"sun_{k}.jpg").write_bytes(b"x" * (k + 1))
    (root / "a" / os.fsdecode(b"sun_\xe9.jpg")).write_bytes(b"latin-1 name")  # not UTF-8
    first = listing_digest(root)
    assert listing_digest(root) == first  # stable
    seen = {first}

    def changed() -> str:
        d = listing_digest(root)
        assert d not in seen
        seen.add(d)
        return d

    (root / "a" / "abbey" / "sun_3.jpg").write_bytes(b"new")
    changed()
    (root / "a" / "abbey" / "sun_0.jpg").unlink()
    changed()
    (root / "a" / "abbey" / "sun_1.jpg").rename(root / "a" / "abbey" / "sun_9.jpg")
    changed()
    f = root / "a" / "abbey" / "sun_2.jpg"
    st = f.stat()
    f.write_bytes(b"yyy")  # the same size, another content: its mtime moves
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed()
    time.sleep(0.01)
    extra = tmp_path / "list.txt"
    extra.write_text("/a/abbey/sun_2.jpg\n")
    with_list = listing_digest(root, extra)
    extra.write_text("/a/abbey/sun_3.jpg\n")
    os.utime(extra, ns=(0, extra.stat().st_mtime_ns + 10**9))
    assert listing_digest(root, extra) != with_list
