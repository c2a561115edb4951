"""Where results come from: the code version and the run key (colorcnn.provenance)."""

from __future__ import annotations

import subprocess

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
