"""The library's modules import one another without a circle, imports inside functions counted.

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` of a
``digitzoo`` module, wherever it stands, except under ``if TYPE_CHECKING:`` (never run). A circle
means two rooms that cannot be understood, tested or replaced apart; this test keeps them out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = ROOT / "digitzoo"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The digitzoo modules ``module`` imports anywhere in its code but under ``if TYPE_CHECKING``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:  # `from . import zoo` imports digitzoo.zoo; `from .zoo import x`, digitzoo.zoo
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def _package_parents(module: str) -> set[str]:
    """``digitzoo.weights.manifest`` runs ``digitzoo/weights/__init__.py`` first: not an import of its own."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_the_library_has_no_import_circle():
    graph = import_graph()
    # Importing a submodule runs its package's __init__ first; that edge is Python's, not a design choice.
    graph = {name: {t for t in targets if t not in _package_parents(name)} for name, targets in graph.items()}
    circles = _circles(graph)
    assert not circles, "import circles: " + "; ".join(" ↔ ".join(group) for group in circles)


def test_the_graph_reader_sees_imports_inside_functions_and_finds_a_circle(tmp_path, monkeypatch):
    pkg = tmp_path / "digitzoo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nimport digitzoo.a\nif TYPE_CHECKING:\n    from . import c\n")
    (pkg / "c.py").write_text("from . import a\n")
    monkeypatch.setitem(globals(), "PACKAGE", pkg)
    graph = import_graph()
    assert graph["digitzoo.a"] == {"digitzoo.b"} and graph["digitzoo.b"] == {"digitzoo.a"}
    assert graph["digitzoo.c"] == {"digitzoo.a"}  # c's import under TYPE_CHECKING in b does not count
    assert _circles(graph) == [["digitzoo.a", "digitzoo.b"]]


@pytest.mark.parametrize("module", ["digitzoo.contract", "digitzoo.errors", "digitzoo.files", "digitzoo.recipe"])
def test_the_ground_floor_imports_nothing_above_it(module):
    allowed = {"digitzoo.contract": {"digitzoo.errors", "digitzoo.files", "digitzoo._tensorflow"},
               "digitzoo.errors": set(), "digitzoo.files": set(), "digitzoo.recipe": set()}
    assert import_graph()[module] <= allowed[module]
