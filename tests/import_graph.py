"""perfkit's module import graph, read with ``ast`` (no module is imported).

Every import counts, also those inside functions; only ``if TYPE_CHECKING:`` blocks are skipped.
"""
from __future__ import annotations

import ast
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, this: str, is_package: bool, known: set[str]) -> set[str]:
    out: set[str] = set()
    package = this if is_package else this.rpartition(".")[0]

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for c in child.orelse:
                    visit(c)
                continue
            if isinstance(child, ast.Import):
                for a in child.names:
                    out.add(a.name)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                out.add(mod)
                for a in child.names:          # `from . import x` may name a submodule
                    if f"{mod}.{a.name}" in known:
                        out.add(f"{mod}.{a.name}")
            visit(child)

    visit(tree)
    return out


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same top-level package (and others) it imports."""
    root = package_dir.parent
    files = sorted(package_dir.rglob("*.py"))
    known = {module_name(f, root) for f in files}
    graph = {}
    for f in files:
        name = module_name(f, root)
        graph[name] = _imports(ast.parse(f.read_text(), str(f)), name, f.name == "__init__.py", known)
    return graph


def internal(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Only the edges between modules of the graph (a package's __init__ counts as the package)."""
    known = set(graph)
    return {m: {d for d in deps if d in known and d != m} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    g = internal(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in sorted(g):
        if v not in index:
            strong(v)
    return out
