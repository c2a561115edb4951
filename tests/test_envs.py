"""Conda environments, checked statically (no conda channel here): they parse, pin, cover the
imports of their scripts and agree with pyproject."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, rule_blocks
from packaging.requirements import Requirement

#: import name -> conda-forge package name, where they differ
CONDA_NAME = {
    "PIL": "pillow",
    "skimage": "scikit-image",
    "yaml": "pyyaml",
    "torch": "pytorch",
    "matplotlib": "matplotlib-base",
}
#: conda-forge package name -> PyPI name in pyproject.toml, where they differ
PYPI_NAME = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
#: functions whose (lazy) torch import only torch callers reach
TORCH_ONLY = {"yuv_to_rgb_torch"}
SRC = ROOT / "src" / "colorcnn"


def env_packages(path: Path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    assert spec["channels"] == ["conda-forge", "nodefaults"], path
    pkgs = {}
    for dep in spec["dependencies"]:
        assert isinstance(dep, str), f"{path}: {dep!r} (pip sections are not used)"
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)=([0-9][^=\s]*)(=\S+)?", dep)
        assert m, f"{path}: {dep!r} is not pinned as name=version"
        pkgs[m.group(1)] = m.group(2)
    return pkgs


def _import_nodes(tree):
    """Import statements, skipping optional ones (``try: ... except ImportError``) and those
    inside torch-only functions."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers
        ):
            skip |= {id(n) for b in node.body for n in ast.walk(b)}
        if isinstance(node, ast.FunctionDef) and node.name in TORCH_ONLY:
            skip |= {id(n) for n in ast.walk(node)}
    return [n for n in ast.walk(tree) if id(n) not in skip]


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party modules a script imports, following colorcnn's own modules
    (lazy imports inside functions included: they run when the rule calls them)."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in _import_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative import inside colorcnn
                    base = path.parent
                    mod = node.module or ""
                    cands = [base / f"{mod.replace('.', '/')}.py"] if mod else []
                    cands += [base / f"{a.name}.py" for a in node.names]
                    todo += [c for c in cands if c.exists()]
                    continue
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top == "colorcnn":
                    sub = n.split(".")[1:] or ["__init__"]
                    todo.append(SRC / f"{'/'.join(sub)}.py")
                elif top == "_bootstrap":
                    todo.append(ROOT / "workflow" / "scripts" / "_bootstrap.py")
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return found


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_envs_parse_and_pin(env):
    pkgs = env_packages(env)
    assert pkgs["python"].startswith("3.")


def test_envs_cover_the_imports_of_their_scripts():
    missing = []
    for name, (body, _smk) in rule_blocks().items():
        s = re.search(r"script:\n\s+\"\.\./scripts/(\w+\.py)\"", body)
        if not s:
            continue
        for env in rule_envs(body):
            pkgs = env_packages(ROOT / "envs" / env)
            for mod in third_party_imports(ROOT / "workflow" / "scripts" / s.group(1)):
                if mod == "snakemake":
                    continue  # provided by the running Snakemake
                if CONDA_NAME.get(mod, mod) not in pkgs:
                    missing.append(f"rule {name}: {mod} not in envs/{env}")
    assert not missing, "\n".join(missing)


def rule_envs(body: str) -> list[str]:
    """The env files a rule may use: its literal path, or both torch envs where a function
    (``torch_env``, ``run_torch_env``) chooses by the job's GPUs."""
    conda = re.search(r"conda:\n\s+(.+)\n", body).group(1).strip()
    literal = re.fullmatch(r"\"\.\./\.\./envs/([\w-]+\.yaml)\"", conda)
    if literal:
        return [literal.group(1)]
    assert re.fullmatch(r"(run_)?torch_env(\(.*\))?", conda), conda
    return ["torch-cpu.yaml", "torch-cuda.yaml"]


def test_the_cuda_env_gives_a_cuda_build_without_a_build_string_pin():
    pkgs = env_packages(ROOT / "envs" / "torch-cuda.yaml")
    # pytorch-gpu exists only for CUDA builds and pins pytorch to one; cuda-version picks CUDA
    assert pkgs["pytorch-gpu"] == pkgs["pytorch"] and re.fullmatch(
        r"1[2-9]\.\d+", pkgs["cuda-version"]
    )
    for env in ("torch-cuda.yaml", "torch-cpu.yaml"):
        deps = yaml.safe_load((ROOT / "envs" / env).read_text())["dependencies"]
        assert not any(d.count("=") > 1 for d in deps), "no build-string pins: builds get replaced"


#: packages that exist only as CUDA builds, or select one (they need the __cuda virtual package)
CUDA_ONLY = re.compile(r"pytorch-gpu|cuda-.*|cudnn|nccl|libcu.*|nvidia-.*")


def test_the_cpu_env_creates_without_a_gpu_and_matches_the_cuda_env_otherwise():
    """A CPU-only machine (a laptop, a login node, a Mac) can create the env a CPU run uses:
    no CUDA-only package, pytorch pinned to a CPU build by the pytorch-cpu metapackage; the
    versions are the CUDA env's."""
    cpu, cuda = (env_packages(ROOT / "envs" / f"torch-{k}.yaml") for k in ("cpu", "cuda"))
    assert not [p for p in cpu if CUDA_ONLY.fullmatch(p)]
    assert cpu["pytorch-cpu"] == cpu["pytorch"]
    assert {k: v for k, v in cuda.items() if not CUDA_ONLY.fullmatch(k)} == {
        k: v for k, v in cpu.items() if k != "pytorch-cpu"
    }


def test_every_package_has_one_version_and_the_pip_constraints_are_the_envs():
    """envs/*.yaml are the one source of truth; envs/pip-constraints.txt (what the quick
    start and CI install with) is generated from them and must not drift."""
    sys.path.insert(0, str(ROOT / "envs"))
    try:
        import pip_constraints
    finally:
        sys.path.remove(str(ROOT / "envs"))
    text = pip_constraints.constraints()  # raises if a package has two versions
    assert (ROOT / "envs" / "pip-constraints.txt").read_text() == text
    pins = dict(line.split("==") for line in text.splitlines()[1:])
    assert pins["torch"] == env_packages(ROOT / "envs" / "torch-cpu.yaml")["pytorch"]
    assert "python" not in pins and "cuda-version" not in pins


def test_env_pins_satisfy_pyproject_ranges():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ranges = {Requirement(d).name.lower(): Requirement(d).specifier for d in deps}
    checked = 0
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        for pkg, version in env_packages(env).items():
            name = PYPI_NAME.get(pkg, pkg)
            if name in ranges:
                assert ranges[name].contains(version), (
                    f"{env.name}: {pkg}={version} vs {ranges[name]}"
                )
                checked += 1
    assert checked >= 15


def test_the_scanner_skips_only_functions_that_exist():
    defined = {
        n.name
        for f in SRC.glob("*.py")
        for n in ast.walk(ast.parse(f.read_text()))
        if isinstance(n, ast.FunctionDef)
    }
    assert TORCH_ONLY <= defined, TORCH_ONLY - defined


def test_import_scanner_follows_the_library():
    found = third_party_imports(ROOT / "workflow" / "scripts" / "colorize.py")
    assert {"torch", "numpy", "PIL", "torchvision"} <= found


def test_declared_requirements_hold():
    """requires-python is Snakemake's (8 and 9 need 3.11; pip on 3.10 failed), the report
    needs pygments (snakemake[reports]), and the floor is the version CI dry-runs
    (.ci/floor_dry_run.sh reads it from here)."""
    from importlib.metadata import metadata

    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = SpecifierSet(project["requires-python"])
    theirs = SpecifierSet(metadata("snakemake")["Requires-Python"])
    versions = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
    assert [v for v in versions if ours.contains(v)] == [v for v in versions if theirs.contains(v)]
    (sm,) = [Requirement(d) for d in project["dependencies"] if d.startswith("snakemake")]
    assert sm.extras == {"reports"} and str(sm.specifier) == ">=8.4.9"
    assert "snakemake\\[reports\\]>=" in (ROOT / ".ci" / "floor_dry_run.sh").read_text()
