"""Write ``envs/pip-constraints.txt``: the versions of ``envs/*.yaml`` as pip constraints.

    python envs/pip_constraints.py          # rewrite the file
    python envs/pip_constraints.py --check  # exit 1 if it differs from the envs

The conda envs are the one source of truth for versions. The README's quick start and CI
install with ``pip install -c envs/pip-constraints.txt``, so that what pip installs is what
``--use-conda`` installs, and the committed reports come from those versions. Every package
must have one version across the envs (tests/test_envs.py checks it); conda-only entries
(python, cuda-version, the pytorch-cpu / pytorch-gpu variant metapackages) are left out.
Standard library only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "pip-constraints.txt"
#: conda-forge name -> PyPI name, where they differ
PYPI_NAME = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
#: conda-only packages: the interpreter, the CUDA selector, the build-variant metapackages
CONDA_ONLY = {"python", "cuda-version", "pytorch-cpu", "pytorch-gpu"}


def env_pins(path: Path) -> dict[str, str]:
    """``name=version`` lines of a conda env file's dependencies."""
    pins = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"\s+-\s+([A-Za-z0-9_.-]+)=([0-9][^=\s]*)\s*", line)
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def constraints(env_dir: Path = HERE) -> str:
    versions: dict[str, dict[str, str]] = {}
    for env in sorted(env_dir.glob("*.yaml")):
        for name, version in env_pins(env).items():
            versions.setdefault(name, {})[env.name] = version
    lines = []
    for name in sorted(versions):
        found = set(versions[name].values())
        if len(found) > 1:
            raise SystemExit(f"{name} has several versions across the envs: {versions[name]}")
        if name not in CONDA_ONLY:
            lines.append(f"{PYPI_NAME.get(name, name)}=={found.pop()}")
    head = "# Generated from envs/*.yaml by envs/pip_constraints.py: do not edit.\n"
    return head + "\n".join(sorted(lines)) + "\n"


def main(argv: list[str]) -> int:
    text = constraints()
    if "--check" in argv:
        if OUT.read_text() != text:
            print(f"{OUT} differs from envs/*.yaml: run python envs/pip_constraints.py")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
