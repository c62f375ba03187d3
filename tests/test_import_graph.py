"""The library's layering, read from the source with ``ast``: no cycles, imports point down the pipeline,
the library never imports the wordgame package, and ``import perfkit`` stays light."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from import_graph import cycles, import_graph, internal

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "perfkit"
GRAPH = import_graph(LIB)

# The pipeline, bottom first. A module may import its own layer and the layers before it.
LAYERS = [
    {"perfkit.errors", "perfkit.fileio", "perfkit.style", "perfkit.toolchain", "perfkit.proto",
     "perfkit.allocator"},
    {"perfkit.model"},
    {"perfkit.formats"},
    {"perfkit.views", "perfkit.trace", "perfkit.metrics"},
    {"perfkit.analysis"},
    {"perfkit.render"},
    {"perfkit.lab"},
    {"perfkit.cli", "perfkit.report", "perfkit.__main__"},
]


def layer_of(module: str) -> int | None:
    for i, layer in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in layer):
            return i
    return None


def test_graph_sees_the_whole_package():
    assert len(GRAPH) > 40
    assert "perfkit.formats.pprof" in GRAPH["perfkit.formats.archive"]
    assert "perfkit.model.profile" in GRAPH["perfkit.formats.pprof"]


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_cycle_finder_finds_a_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]


def test_every_module_has_a_layer():
    assert [m for m in GRAPH if m != "perfkit" and layer_of(m) is None] == []


def test_imports_point_down_the_pipeline():
    bad = []
    for m, deps in internal(GRAPH).items():
        if m == "perfkit":
            continue
        for d in deps:
            if d == "perfkit":
                if layer_of(m) != len(LAYERS) - 1:          # only the front ends may use the curated API
                    bad.append(f"{m} imports the top-level package")
            elif layer_of(d) > layer_of(m):
                bad.append(f"{m} -> {d}")
    assert bad == []


@pytest.mark.parametrize("low", ["perfkit.formats", "perfkit.model"])
def test_formats_and_model_import_no_views_render_or_cli(low):
    high = ("perfkit.views", "perfkit.render", "perfkit.cli")
    bad = {m: sorted(d for d in deps if d.startswith(high))
           for m, deps in GRAPH.items() if m.startswith(low)}
    assert {m: d for m, d in bad.items() if d} == {}


def test_render_imports_no_formats():
    bad = {m: sorted(d for d in deps if d.startswith("perfkit.formats"))
           for m, deps in GRAPH.items() if m.startswith("perfkit.render")}
    assert {m: d for m, d in bad.items() if d} == {}


def test_model_imports_no_codec():
    bad = {m: sorted(d for d in deps if "proto" in d or d.startswith("google"))
           for m, deps in GRAPH.items() if m.startswith("perfkit.model")}
    assert {m: d for m, d in bad.items() if d} == {}


def test_library_never_imports_the_case_packages():
    bad = {m: sorted(d for d in deps if d.split(".")[0] in ("wordgame_lab", "tls_lab") or d.startswith("perfkit.wordgame"))
           for m, deps in GRAPH.items()}
    assert {m: d for m, d in bad.items() if d} == {}


def test_import_perfkit_stays_light():
    code = ("import sys, json, perfkit; "
            "print(json.dumps(sorted(m for m in ('matplotlib', 'graphviz', 'locust', 'gevent', 'playwright', "
            "'wordgame_lab', 'google.protobuf', 'IPython', 'ipywidgets') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_html_and_graphviz_renderers_load_no_matplotlib():
    # perfkit.render loads each renderer on first use: an interactive flame graph or a call graph
    # (half a second less on a big profile) never pays for matplotlib
    code = ("import sys, perfkit; from perfkit.render import interactive_flame, call_graph, explore; "
            "print('matplotlib' in sys.modules); from perfkit.render import flame_graph; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def _public_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith("_")]


def test_public_names_are_unique_across_the_package():
    seen: dict[str, list[str]] = {}
    for f in sorted(LIB.rglob("*.py")):
        for name in _public_names(f):
            seen.setdefault(name, []).append(str(f.relative_to(LIB)))
    assert {n: fs for n, fs in seen.items() if len(fs) > 1} == {}


def test_public_api_is_curated():
    import perfkit
    assert len(perfkit.__all__) == len(set(perfkit.__all__))
    missing = [n for n in perfkit.__all__ if not hasattr(perfkit, n)]
    assert missing == []
    for entry in ("read_profile", "load_archive", "top", "Filters", "read_trace", "Scraper", "rate",
                  "histogram_quantile", "collect"):
        assert entry in perfkit.__all__


PUBLIC_MODULES = {"perfkit", "perfkit.trace", "perfkit.analysis", "perfkit.render", "perfkit.style",
                  "perfkit.metrics", "perfkit.lab", "perfkit.report", "wordgame_lab", "tls_lab"}


def _notebook_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for each import of perfkit or wordgame_lab in the notebook's code cells."""
    out = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Import):
                out += [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                out += [(node.module, a.name) for a in node.names]
    return [(m, n) for m, n in out if m.split(".")[0] in ("perfkit", "wordgame_lab", "tls_lab")]


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_import_only_public_names(notebook):
    import importlib
    bad = []
    for module, name in _notebook_imports(notebook):
        if name is None:
            if module not in PUBLIC_MODULES:
                bad.append(module)
        elif f"{module}.{name}" in PUBLIC_MODULES:
            continue
        elif module not in PUBLIC_MODULES or name not in importlib.import_module(module).__all__:
            bad.append(f"{module}.{name}")
    assert bad == []
