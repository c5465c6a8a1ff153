"""Plugins are declared, not imported: no import cycle, and every name listed from the start.

The registries name the plugins of other packages (peers, encodings) as ``"module:Class"``
(:meth:`matchsim.registry.Registry.add_lazy`), so the stages never import their plugins and
the plugins import the stages' public base modules only. Whichever public module is imported
first, every registry lists every name, and no optional engine is loaded to list them. The
module-level imports of the stage and plugin packages form no cycle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_architecture import strongly_connected

PACKAGE = Path(__file__).resolve().parents[1] / "matchsim"
#: The stages with plugins, and the plugins: no import cycle may pass through any of them.
PLUGIN_PACKAGES = (
    "matchsim.registry",
    "matchsim.blocking",
    "matchsim.matchers",
    "matchsim.peers",
    "matchsim.pprl.lsh",
    "matchsim.pprl.matcher",
)

MODULES = (
    "matchsim",
    "matchsim.blocking",
    "matchsim.blocking.base",
    "matchsim.blocking.keys",
    "matchsim.blocking.run",
    "matchsim.matchers",
    "matchsim.matchers.base",
    "matchsim.matchers.fellegi_sunter",
    "matchsim.comparison",
    "matchsim.peers",
    "matchsim.peers.recordlinkage_index",
    "matchsim.peers.splink_matcher",
    "matchsim.peers.tables",
    "matchsim.pprl",
    "matchsim.pprl.lsh",
    "matchsim.pprl.matcher",
    "matchsim.pprl.records",
    "matchsim.pprl.scenario",
    "matchsim.distributed",
    "matchsim.ingest",
    "matchsim.linkage",
    "matchsim.linkage.dedupe",
    "matchsim.clustering",
    "matchsim.records",
    "matchsim.scenario",
    "matchsim.synth.census",
    "matchsim.cli",
)
#: Heavy or optional libraries that registering a name must not import.
LAZY = ("numba", "recordlinkage", "splink", "duckdb", "dask", "distributed")

SCRIPT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
from matchsim.blocking.base import BLOCKERS
from matchsim.comparison import COMPARISONS
from matchsim.matchers.base import MATCHERS
print(json.dumps({
    "blockers": sorted(BLOCKERS),
    "matchers": sorted(MATCHERS),
    "comparisons": sorted(COMPARISONS),
    "loaded": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules),
}))
"""


def _registries_after_importing(module: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, module, json.dumps(LAZY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def everything() -> dict:
    return _registries_after_importing("matchsim.cli")


def test_the_full_registries_hold_the_plugins(everything):
    assert {"clk_lsh", "recordlinkage", "exact", "union"} <= set(everything["blockers"])
    assert {"bloom_dice", "recordlinkage", "splink", "fellegi_sunter"} <= set(
        everything["matchers"]
    )


@pytest.mark.parametrize("module", MODULES)
def test_importing_one_module_first_registers_every_plugin(module, everything):
    seen = _registries_after_importing(module)
    assert seen["blockers"] == everything["blockers"]
    assert seen["matchers"] == everything["matchers"]
    assert seen["comparisons"] == everything["comparisons"]
    assert seen["loaded"] == []


def _module_names() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _module_level_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """The matchsim modules ``name`` imports when it is imported (not inside functions, nor
    under ``if TYPE_CHECKING``)."""
    out: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                out.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                out.add(base)
                out.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree.body)
    return out


def _import_graph() -> dict[str, set[str]]:
    """``module -> modules it imports on import``, with the packages each of those runs first
    (a package's own ancestors are already being imported, so they are left out)."""
    modules = _module_names()
    graph: dict[str, set[str]] = {}
    for name in modules:
        parts = name.split(".")
        path = PACKAGE.parent.joinpath(*parts)
        is_package = path.is_dir()
        file = path / "__init__.py" if is_package else path.with_suffix(".py")
        ancestors = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        edges: set[str] = set()
        for target in _module_level_imports(ast.parse(file.read_text()), name, is_package):
            t = target.split(".")
            for i in range(1, len(t) + 1):
                step = ".".join(t[:i])
                if step in modules and step not in ancestors:
                    edges.add(step)
        graph[name] = edges
    return graph


def test_the_graph_sees_imports_through_packages():
    graph = _import_graph()
    assert "matchsim.blocking.base" in graph["matchsim.pprl.lsh"]
    assert "matchsim.blocking" in graph["matchsim.pprl.lsh"]  # its __init__ runs first
    assert "matchsim.blocking" not in graph["matchsim.blocking.base"]  # an ancestor


def test_no_import_cycle_passes_through_the_stages_or_their_plugins():
    def involved(module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in PLUGIN_PACKAGES)

    cycles = [c for c in strongly_connected(_import_graph()) if any(involved(m) for m in c)]
    assert cycles == []
