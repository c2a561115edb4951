"""Reusing the workflow the Snakemake way: as a module from a local path (renamed rules stay
local, a prefix relocates the outputs), as a module from a git repository at a tag (the
library travels through Snakemake's source cache), and deployed with snakedeploy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from test_workflow import copy_workflow, job_counts, snakemake

LOCAL_RULES = {
    "demo",
    "backbone",
    "data_summary",
    "figure_training",
    "figure_scores",
    "figure_claims",
    "figure_categories",
    "figure_examples",
    "results_table",
    "reports",
    "all",
}
# Snakemake <= 9.27 fails on git+file:// modules under the default "code" rerun trigger
# (LocalGitFile.join is handed a LocalSourceFile); github(...) modules are not affected.
GIT_FILE_TRIGGERS = ("--rerun-triggers", "mtime", "params", "input", "software-env")


def user_workflow(dest: Path, snakefile: str, *, prefix: str = "") -> Path:
    """A user's own workflow that imports colorcnn as a module and renames its rules."""
    (dest / "config").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "config.yaml", dest / "config" / "config.yaml")
    lines = [
        'configfile: "config/config.yaml"',
        "",
        "",
        "module colorcnn:",
        "    snakefile:",
        f"        {snakefile!r}",
        "    config:",
        "        config",
    ]
    if prefix:
        lines += ["    prefix:", f"        {prefix!r}"]
    lines += [
        "",
        "",
        "use rule * from colorcnn as cc_*",
        "",
        "",
        "# what a cluster run would keep on the submit node (Snakemake's own record of it)",
        'print("LOCAL RULES:", " ".join(sorted(workflow._localrules)))',
    ]
    (dest / "Snakefile").write_text("\n".join(lines) + "\n")
    return dest


def local_rules(out: str) -> set[str]:
    line = next(ln for ln in out.splitlines() if ln.startswith("LOCAL RULES:"))
    return set(line.split(":", 1)[1].split())


def git_repo(src: Path, tag: str) -> Path:
    def git(*args):
        subprocess.run(["git", *args], cwd=src, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.email=ci@example.org", "-c", "user.name=ci", "commit", "-qm", tag)
    git("tag", tag)
    return src


def test_config_yaml_is_a_reference_to_the_one_in_config():
    top = ROOT / "config.yaml"
    assert top.is_symlink() and top.resolve() == (ROOT / "config" / "config.yaml").resolve()
    mode = subprocess.run(
        ["git", "ls-files", "-s", "config.yaml"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert not mode or mode[0] == "120000"  # committed as a link, not as a second copy


def test_the_catalog_finds_the_standard_layout():
    for path in ("workflow/Snakefile", "config/config.yaml", "config/README.md", "LICENSE"):
        assert (ROOT / path).is_file(), path
    catalog = (ROOT / ".snakemake-workflow-catalog.yml").read_text()
    assert "usage:" in catalog and "conda: true" in catalog


def test_a_module_from_a_local_path_keeps_its_local_rules_and_its_prefix(tmp_path):
    wf = copy_workflow(tmp_path / "colorcnn")
    user = user_workflow(tmp_path / "user", str(wf / "workflow" / "Snakefile"), prefix="cc")
    r = snakemake(user, "-n", "--quiet", "rules")
    out = r.stdout + r.stderr
    assert "localrules directive specifies rules that are not present" not in out
    assert local_rules(out) == {f"cc_{name}" for name in LOCAL_RULES}
    counts = job_counts(r.stdout)
    assert counts["cc_train"] == 1 and counts["cc_prepare"] == 5 and counts["cc_all"] == 1
    r = snakemake(user, "-n", "cc/results/data/manifest.tsv")
    assert "output: cc/results/data/manifest.tsv" in r.stdout  # the prefix relocates outputs


@pytest.mark.slow
def test_a_module_from_git_at_a_tag_runs_the_data_stage_with_its_own_library(tmp_path):
    repo = git_repo(copy_workflow(tmp_path / "repo"), "v1")
    snakefile = f"git+file://{repo}/workflow/Snakefile@v1"
    user = user_workflow(tmp_path / "user", snakefile)
    r = snakemake(user, "results/data/rejected.tsv", "--cores", "2", *GIT_FILE_TRIGGERS)
    assert local_rules(r.stdout + r.stderr) == {f"cc_{name}" for name in LOCAL_RULES}
    assert len(list((user / "results" / "data" / "shards").glob("*.Y.npy"))) == 5
    # the rule scripts ran the library that came with the workflow (through the source
    # cache), not a copy installed in this environment
    log = (user / "logs" / "data" / "sample.log").read_text()
    assert "colorcnn library: " + str(user / ".snakemake" / "colorcnn-library") in log
    library = next((user / ".snakemake" / "colorcnn-library").iterdir())
    for name in ("train.py", "systems.py"):  # (git show drops the final newline)
        ours = (ROOT / "src" / "colorcnn" / name).read_bytes()
        assert (library / "colorcnn" / name).read_bytes().rstrip() == ours.rstrip(), name


def test_snakedeploy_deploys_the_workflow_with_its_configuration(tmp_path):
    repo = git_repo(copy_workflow(tmp_path / "repo"), "v1")
    dest = tmp_path / "deployed"
    cmd = [shutil.which("snakedeploy") or "snakedeploy", "deploy-workflow", str(repo), str(dest)]
    r = subprocess.run([*cmd, "--tag", "v1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not found in traditional path" not in r.stdout + r.stderr
    for name in ("config.yaml", "paper.yaml", "demo-study.yaml", "README.md"):
        assert (dest / "config" / name).read_bytes() == (ROOT / "config" / name).read_bytes()
    deployed = (dest / "workflow" / "Snakefile").read_text()
    assert 'configfile: "config/config.yaml"' in deployed and "use rule * from" in deployed
    # snakedeploy 0.17 writes a local source's module path relative to the source repository
    # (for a GitHub repository it writes github("owner/repo", path=..., tag=...)): point it
    # at the repository, as a GitHub deployment would, and dry-run the deployment
    assert '"workflow/Snakefile"' in deployed
    (dest / "workflow" / "Snakefile").write_text(
        deployed.replace('"workflow/Snakefile"', repr(str(repo / "workflow" / "Snakefile")))
    )
    r = snakemake(dest, "-n", "--quiet", "rules")
    counts = job_counts(r.stdout)
    assert counts["train"] == 1 and counts["all"] == 1 and counts["prepare"] == 5
