"""Conda environments, checked statically (no conda channel here): they parse, pin, cover the
imports of their scripts and agree with pyproject."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib
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
        env = re.search(r"conda:\n\s+\"\.\./\.\./envs/(\w+\.yaml)\"", body).group(1)
        pkgs = env_packages(ROOT / "envs" / env)
        for mod in third_party_imports(ROOT / "workflow" / "scripts" / s.group(1)):
            if mod == "snakemake":
                continue  # provided by the running Snakemake
            if CONDA_NAME.get(mod, mod) not in pkgs:
                missing.append(f"rule {name}: {mod} not in envs/{env}")
    assert not missing, "\n".join(missing)


def test_torch_env_gives_a_cuda_build_without_a_build_string_pin():
    pkgs = env_packages(ROOT / "envs" / "torch.yaml")
    # pytorch-gpu exists only for CUDA builds and pins pytorch to one; cuda-version picks CUDA
    assert pkgs["pytorch-gpu"] == pkgs["pytorch"] and re.fullmatch(
        r"1[2-9]\.\d+", pkgs["cuda-version"]
    )
    deps = yaml.safe_load((ROOT / "envs" / "torch.yaml").read_text())["dependencies"]
    assert not any(d.count("=") > 1 for d in deps), "no build-string pins: builds get replaced"


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
