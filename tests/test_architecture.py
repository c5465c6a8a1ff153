"""Imports point one way, down the pipeline, and no modules import each other in a cycle.

Each module belongs to a layer (the longest prefix in ``LAYERS`` that names it). A module may
import modules of its own layer or of lower layers, never of a higher one: the engine
(blocking, comparison, matchers, pipeline, lookup) never imports the synthetic world, the
scenario runner, the reports or the CLI. Every import counts, including those inside functions
(a lazy upward import is still an upward dependency); only imports under ``if TYPE_CHECKING:``
are left out, since they never run. docs/architecture.md draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "matchsim"

#: Lowest first. A package's entry covers its submodules unless a longer entry names them.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: what every stage may use
    ("matchsim.errors", "matchsim.registry", "matchsim.version", "matchsim.data"),
    # 1: values and tables: dates, hashing, roles, normalisation, reading and writing files
    ("matchsim.dates", "matchsim.hashing", "matchsim.records", "matchsim.io", "matchsim.ingest"),
    # 2: candidate pairs, per-field levels, and scoring outcomes against the truth
    ("matchsim.blocking", "matchsim.comparison", "matchsim.evaluation", "matchsim.clustering"),
    # 3: scores and decisions
    ("matchsim.matchers", "matchsim.decision", "matchsim.namesakes"),
    # 4: plugins from elsewhere: privacy-preserving linkage and the peer engines
    ("matchsim.pprl", "matchsim.peers"),
    # 5: the whole pipeline on any two tables, a register lookup, deduplication
    ("matchsim.linkage", "matchsim.accuracy"),
    # 6: the synthetic world: registers and requests with ground truth
    ("matchsim.synth", "matchsim.requests"),
    # 7: the world as stored and as checked against published figures; the facade's stages
    ("matchsim.world", "matchsim.fidelity", "matchsim.api"),
    # 8: scenarios, and running them on several processes or a cluster
    ("matchsim.scenario", "matchsim.distributed", "matchsim.pprl.scenario"),
    # 9: what people read
    ("matchsim.report",),
    # 10: entry points: the command line, a whole simulation, the package itself; build scripts
    ("matchsim.cli", "matchsim.simulation", "matchsim", "matchsim.data.build_forenames"),
)


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = number, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return best


def _known(target: str) -> str:
    """The module a dotted import target lands in (``a.b.name`` -> ``a.b``)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target


def imports_of(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            out.update(_known(a.name) for a in node.names if a.name.startswith("matchsim"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if not source.startswith("matchsim"):
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                out.add(full if full in MODULES else _known(source))
    out.discard(module)
    out.discard("")
    return out


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles():
    # A package's __init__ re-exporting its submodules, and those submodules importing each
    # other, is fine; a submodule importing its own package's __init__ back is a cycle.
    cycles = strongly_connected(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder(graph, expected):
    assert strongly_connected(graph) == expected


def test_layer_of_takes_the_longest_prefix():
    assert layer_of("matchsim.pprl.scenario") > layer_of("matchsim.pprl.encoding")
    assert layer_of("matchsim.synth.census") > layer_of("matchsim.linkage")


def test_an_upward_import_is_seen(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "import matchsim.report\n"
        "def f():\n    from matchsim.synth import calendar\n"
        "if TYPE_CHECKING:\n    import matchsim.cli\n"
    )
    assert imports_of("matchsim.blocking.fake", path) == {
        "matchsim.report",
        "matchsim.synth.calendar",
    }


def test_the_architecture_page_names_every_top_level_module():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    top = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    missing = sorted(name for name in top if f"{name}/" not in page and f"{name}.py" not in page)
    assert not missing, f"docs/architecture.md does not place: {', '.join(missing)}"
