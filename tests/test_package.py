"""The library as a whole: every module has its place in the package's module map, the
import graph has no cycles, and what the workflow imports while it builds the DAG needs only
the standard library (colorcnn/__init__.py)."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import SRC

import colorcnn

PKG = SRC / "colorcnn"
MODULES = sorted(p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_"))


def _imports(module: str) -> set[str]:
    """Library modules that ``module`` imports (at any depth in the file)."""
    tree = ast.parse((PKG / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {a.name for a in node.names}
    return found & set(MODULES)


def test_every_module_is_in_the_module_map():
    on_disk = sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__")
    assert sorted(colorcnn.MODULES) == on_disk  # what a module from git fetches
    doc = colorcnn.__doc__
    missing = [m for m in MODULES if f"``{m}``" not in doc]
    assert not missing, f"add these modules to the map in colorcnn/__init__.py: {missing}"


def test_the_import_graph_has_no_cycles():
    graph = {m: _imports(m) for m in MODULES}
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError(f"import cycle: {' -> '.join([*path, m])}")
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in sorted(graph[m]):
            visit(n, [*path, m])
        state[m] = 2

    for m in MODULES:
        visit(m, [])


def test_devices_are_chosen_by_the_runtime_alone():
    """A ``device`` setting goes rule script -> train/colorize -> runtime.select_device ->
    torch.device; the checkpoint format has nothing to do with it."""
    defines = {
        m: {n.name for n in ast.parse((PKG / f"{m}.py").read_text()).body if hasattr(n, "name")}
        for m in MODULES
    }
    assert [m for m, names in defines.items() if "select_device" in names] == ["runtime"]
    assert "runtime" not in _imports("checkpoint")
    assert "runtime" in _imports("train") and "runtime" in _imports("colorize")


def test_the_workflow_imports_only_the_standard_library_while_it_builds_the_dag():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import colorcnn.config, colorcnn.layout, colorcnn.backbone, colorcnn.systems;"
        "heavy = {'numpy', 'torch', 'pandas', 'PIL', 'scipy', 'matplotlib'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(SRC)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
