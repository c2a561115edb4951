"""Where results come from: the code version and the run key (colorcnn.provenance)."""

from __future__ import annotations

import subprocess

import pytest

from colorcnn.provenance import code_version


def test_code_version_is_dirty_for_code_not_for_regenerated_reports(tmp_path):
    """Regenerating the committed reports must not mark the code that made them as dirty."""

    def git(*args):
        ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", *ident, *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.md").write_text("old\n")
    (tmp_path / "train.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first")
    clean = code_version(tmp_path)
    assert "+git." in clean and not clean.endswith("-dirty")
    (tmp_path / "reports" / "results.md").write_text("new\n")
    code_version.cache_clear()
    assert code_version(tmp_path) == clean
    (tmp_path / "train.py").write_text("x = 2\n")
    code_version.cache_clear()
    assert code_version(tmp_path) == clean + "-dirty"


@pytest.mark.parametrize("content", ["", "{not json", '{"run_id": 3}', "[]"])
def test_a_damaged_latest_json_is_reported_and_never_blocks_a_run(tmp_path, content, caplog):
    """latest.json was written with a plain write_text: an empty or half-written one raised
    JSONDecodeError at every later fresh run."""
    from colorcnn.provenance import explain_new_run

    latest = tmp_path / "latest.json"
    latest.write_text(content)
    with caplog.at_level("WARNING"):
        explain_new_run(latest, "abc", {"head": 1})
    assert "latest.json" in caplog.text and "ignored" in caplog.text


def test_the_latest_run_record_is_written_atomically(tmp_path):
    from colorcnn.provenance import explain_new_run, record_latest_run

    latest = tmp_path / "ck" / "latest.json"
    record_latest_run(latest, "abc", {"head": 1})
    assert sorted(p.name for p in latest.parent.iterdir()) == ["latest.json"]
    explain_new_run(latest, "abd", {"head": 2})  # reads it back
