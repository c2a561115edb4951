"""Every table's columns in one place, its readers and writers: metadata lines, headers
checked, rows by name, streamed slices, growing tables (colorcnn.tables)."""

from __future__ import annotations

import pandas as pd
import pytest

from colorcnn import tables as T


def test_record_table_round_trip_with_metadata(tmp_path):
    path = tmp_path / "m.tsv"
    rows = [("a/x.JPEG", "a", 10), ("b/y z.JPEG", "b", 20)]  # a space in a name survives
    T.write_tsv(path, T.MANIFEST_COLUMNS, rows, {"root": "/data/ILSVRC", "seed": 3})
    assert path.read_text().splitlines()[:3] == [
        "# root: /data/ILSVRC",
        "# seed: 3",
        "path\tclass\tbytes",
    ]
    meta, got = T.read_tsv(path, T.MANIFEST_COLUMNS, require=("root",))
    assert meta == {"root": "/data/ILSVRC", "seed": "3"}
    assert [tuple(r.values()) for r in got] == [tuple(map(str, r)) for r in rows]
    root, got = T.read_rooted(path, T.MANIFEST_COLUMNS, rows=slice(1, 2))
    assert str(root) == "/data/ILSVRC" and [r["path"] for r in got] == ["b/y z.JPEG"]


def test_a_table_of_another_kind_or_without_its_root_is_refused(tmp_path):
    path = tmp_path / "t.tsv"
    T.write_tsv(path, T.TEST_COLUMNS, [("a/abbey/x.jpg", "abbey", 4, 3)])
    with pytest.raises(ValueError, match=r"t.tsv: header .* expected \['path', 'class', 'bytes'\]"):
        T.read_tsv(path, T.MANIFEST_COLUMNS)
    with pytest.raises(ValueError, match="no '# root: ...' line"):
        T.read_rooted(path, T.TEST_COLUMNS)
    path.write_text("# broken\npath\n")
    with pytest.raises(ValueError, match="malformed metadata line"):
        T.read_tsv(path)


def test_rows_are_built_by_name():
    assert T.ordered({"reason": "r", "detail": "d", "path": "p"}, T.REJECTED_COLUMNS) == (
        "p",
        "r",
        "d",
    )
    with pytest.raises(ValueError, match=r"missing \['detail'\], extra \{'why'\}"):
        T.ordered({"path": "p", "reason": "r", "why": "?"}, T.REJECTED_COLUMNS)


def test_a_growing_table_appends_by_name_and_truncates_on_resume(tmp_path):
    path = tmp_path / "metrics.tsv"
    for step in (1, 2, 3):
        row = dict.fromkeys(T.METRICS_COLUMNS, "")
        T.append_row(path, T.METRICS_COLUMNS, {**row, "step": step, "lr": 0.1})
    df = T.read_frame(path)
    assert list(df.columns) == list(T.METRICS_COLUMNS) and df["step"].tolist() == [1, 2, 3]
    T.truncate_steps(path, 2)
    assert T.read_frame(path)["step"].tolist() == [1, 2]
    T.truncate_steps(path, 0)  # a fresh run
    assert not path.exists()


def test_result_frames_check_their_columns(tmp_path):
    df = pd.DataFrame({"a": [0.123456789], "b": ["x"]})
    T.write_frame(df, tmp_path / "r.tsv", ("a", "b"))
    assert (tmp_path / "r.tsv").read_text() == "a\tb\n0.123457\tx\n"  # %.6g
    with pytest.raises(ValueError, match=r"columns \['a', 'b'\], expected \['b', 'a'\]"):
        T.write_frame(df, tmp_path / "r.tsv", ("b", "a"))


def test_concatenated_tables_must_share_a_header(tmp_path):
    a, b, c = (tmp_path / f"{k}.tsv" for k in "abc")
    T.write_rejected(a, [("x.jpg", "truncated", "")])
    T.write_rejected(b, [])
    T.write_tsv(c, T.COLORIZED_COLUMNS, [("x", "x.png")])
    assert T.concat_tsv([a, b], tmp_path / "all.tsv") == 1
    assert T.read_tsv(tmp_path / "all.tsv", T.REJECTED_COLUMNS)[1][0]["reason"] == "truncated"
    with pytest.raises(ValueError, match="differs from"):
        T.concat_tsv([a, c], tmp_path / "bad.tsv")
