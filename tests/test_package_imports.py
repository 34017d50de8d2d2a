"""The package's layering: no import cycle between its subpackages (and top-level modules).

The graph is read from the source with ``ast`` (every ``import``, lazy ones inside functions included), so
a cycle fails here before it fails at some user's first import. A node is a subpackage (``data``,
``baseline``, ...) or a top-level module (``errors``, ``parallel``, ...); an edge A -> B means a module of A
imports from B.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "landcover_hpc"


def _node(parts: tuple[str, ...]) -> str:
    """The subpackage or top-level module of a dotted path inside the package (parts after the package)."""
    return parts[0] if parts else "__init__"


def _imported(module: Path) -> set[tuple[str, ...]]:
    """Dotted paths (inside the package, package name dropped) that ``module`` imports from."""
    here = module.relative_to(PACKAGE).with_suffix("").parts
    package = here[:-1]  # the package a relative import starts from (for __init__ too)
    found = set()
    for node in ast.walk(ast.parse(module.read_text(), str(module))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = tuple(alias.name.split("."))
                if parts[0] == PACKAGE.name:
                    found.add(parts[1:])
        elif isinstance(node, ast.ImportFrom):
            base = tuple((node.module or "").split(".")) if node.module else ()
            if node.level == 0:
                if base and base[0] == PACKAGE.name:
                    found.add(base[1:])
                continue
            anchor = package[:len(package) - (node.level - 1)]
            target = anchor + base
            if target:
                found.add(target)
            else:  # ``from .. import name``: name is a subpackage or module, or an attribute of __init__
                found.update((alias.name,) if (PACKAGE / alias.name).exists()
                             or (PACKAGE / f"{alias.name}.py").exists() else () for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """``{node: nodes it imports}`` between distinct subpackages / top-level modules."""
    graph: dict[str, set[str]] = {}
    for module in sorted(PACKAGE.rglob("*.py")):
        source = _node(module.relative_to(PACKAGE).with_suffix("").parts)
        edges = graph.setdefault(source, set())
        edges.update(t for t in map(_node, _imported(module)) if t != source)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of ``graph`` (depth-first search), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_subpackages_import_each_other_without_a_cycle():
    graph = import_graph()
    assert {"data", "baseline", "evaluation", "cli"} <= set(graph)  # the graph was read
    assert "evaluation" in graph["baseline"]  # the baseline uses evaluation, never the reverse
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle between subpackages: {' -> '.join(cycle)}"
