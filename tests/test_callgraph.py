"""Call graphs (perfkit.render.callgraph) and the drawing CLI subcommands."""
from __future__ import annotations

import argparse
import html
import importlib.util
import re
import subprocess

import pytest

import perfkit
from perfkit.render.callgraph import CallGraph, call_graph
from perfkit.cli.graphs import add_graph_commands
from gotool import go


@pytest.fixture(scope="module")
def bad_path(fleet_dir):
    return fleet_dir / "pprof-bad-cpu" / "profile"


@pytest.fixture(scope="module")
def bad(bad_path):
    return perfkit.read_profile(bad_path)


@pytest.fixture(scope="module")
def graph(bad):
    return call_graph(bad)


def test_hot_nodes_and_path_from_http_to_crypto(graph):
    assert isinstance(graph, CallGraph)
    names = set(graph.nodes["name"])
    assert {"crypto/rsa.SignPSS", "math/big.addMulVVW", "net/http.(*conn).serve"} <= names
    # follow kept edges from net/http.(*conn).serve: some crypto/ node is reachable
    out: dict[str, set] = {}
    for r in graph.edges.itertuples():
        out.setdefault(r.caller, set()).add(r.callee)
    seen, todo = set(), ["net/http.(*conn).serve"]
    while todo:
        n = todo.pop()
        for m in out.get(n, ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    assert "crypto/rsa.SignPSS" in seen and "math/big.addMulVVW" in seen
    assert graph.nodes.loc[graph.nodes["name"] == "math/big.addMulVVW", "subsystem"].item() == "math/big"


def test_node_values_equal_top(bad, graph):
    t = perfkit.top(bad).set_index("name")
    for r in graph.nodes.itertuples():
        assert (r.flat, r.cum) == (t.at[r.name, "flat"], t.at[r.name, "cum"]), r.name
    assert len(graph.nodes) == 80


def test_pruning(bad, graph):
    total = graph.info["graph_total"]
    assert (graph.nodes["cum"].abs() >= 0.005 * total).all()
    assert (graph.edges["weight"].abs() >= int(0.001 * total)).all()
    more = call_graph(bad, nodefraction=0, edgefraction=0, nodecount=100000)
    assert len(more.nodes) == len(perfkit.top(bad)) > len(graph.nodes)
    # nothing dropped: edges are exactly perfkit.edges()
    e = perfkit.edges(bad)
    assert dict(zip(zip(more.edges["caller"], more.edges["callee"]), more.edges["weight"])) == \
        dict(zip(zip(e["caller"], e["callee"]), e["weight"]))
    assert not more.edges["residual"].any()


def test_edge_weights_equal_edges_view(bad, graph):
    e = perfkit.edges(bad)
    w = dict(zip(zip(e["caller"], e["callee"]), e["weight"]))
    direct = graph.edges[~graph.edges["residual"]]
    assert len(direct) > 50
    for r in direct.itertuples():
        assert w[(r.caller, r.callee)] == r.weight
    # residual edges skip dropped frames: never lighter than a direct edge between the pair
    for r in graph.edges[graph.edges["residual"]].itertuples():
        assert r.weight >= w.get((r.caller, r.callee), 0)


@pytest.mark.parametrize("archive", ["pprof-bad-cpu", "pprof-normal"])
def test_same_nodes_and_edge_count_as_go_tool_pprof_dot(fleet_dir, archive):
    """Exact agreement with `go tool pprof -dot` defaults (tolerance: none)."""
    bad_path = fleet_dir / archive / "profile"
    graph = call_graph(perfkit.read_profile(bad_path))
    out = subprocess.run([go(), "tool", "pprof", "-dot", "-nodefraction=0.005", "-edgefraction=0.001",
                          "-nodecount=80", str(bad_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    go_names = re.findall(r'^N\d+ \[label="[^"]*" id="node\d+" fontsize=\d+ shape=\w+ tooltip="(.*) \([^()]*\)"',
                          out.stdout, re.M)
    assert len(go_names) == 80
    assert set(go_names) == set(graph.nodes["name"])
    assert len(re.findall(r"^N\d+ -> N\d+", out.stdout, re.M)) == len(graph.edges)
    assert f"Dropped {graph.info['dropped_nodes']} nodes" in out.stdout


def test_svg_contains_escaped_names(graph, tmp_path):
    svg = graph._repr_svg_()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:500]
    for name in ("crypto/rsa.SignPSS", "math/big.addMulVVW", "net/http.(*conn).serve",
                 "crypto/tls.(*Conn).serverHandshake"):
        assert html.escape(name, quote=False) in svg
    assert "crypto/rsa.SignPSS" in graph.dot_source
    p = graph.save(tmp_path / "g.svg")
    assert p.read_text().count("<svg") == 1
    assert (graph.save(tmp_path / "g.dot")).read_text() == graph.dot_source
    assert graph.save(tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(perfkit.PerfkitError, match=r"\.svg"):
        graph.save(tmp_path / "g.txt")


def test_focus_passes_through(bad):
    g = call_graph(bad, filters=perfkit.Filters(focus=r"rsa\.SignPSS"))
    assert "crypto/rsa.SignPSS" in set(g.nodes["name"])
    assert g.info["shown_total"] <= perfkit.top(bad).set_index("name").at["crypto/rsa.SignPSS", "cum"]
    assert "focus=" in g.dot_source
    with pytest.raises(perfkit.OptionError, match="fokus"):
        call_graph(bad, fokus="x")
    with pytest.raises(perfkit.OptionError, match="filters must be a perfkit.Filters"):
        call_graph(bad, filters={"focus": "x"})


def test_missing_dot_names_graphviz(bad, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(perfkit.ToolMissingError, match="graphviz") as ei:
        call_graph(bad, nodecount=10).svg()
    assert "apt-get install graphviz" in str(ei.value)


# ---------------------------------------------------------------- CLI

def _run(args):
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command")
    add_graph_commands(sub)
    a = ap.parse_args([str(x) for x in args])
    return a.func(a)


def test_cli_callgraph(bad_path, tmp_path):
    out = tmp_path / "cg.svg"
    assert _run(["callgraph", bad_path, "-o", out, "--nodecount", "30", "--focus", "crypto"]) == 0
    assert "crypto/rsa.SignPSS" in out.read_text()
    with pytest.raises(perfkit.PerfkitError, match="cg.svg.*--force"):
        _run(["callgraph", bad_path, "-o", out])
    assert _run(["callgraph", bad_path, "-o", out, "--force", "--nodefraction", "0.01"]) == 0
    with pytest.raises(perfkit.PerfkitError, match=r"\.svg"):
        _run(["callgraph", bad_path, "-o", tmp_path / "cg.jpeg"])


def _have(mod):
    try:
        return importlib.util.find_spec(f"perfkit.render.{mod}") is not None
    except ImportError:
        return False


def test_cli_flame_rejects_bad_extension_and_existing(bad_path, tmp_path):
    with pytest.raises(perfkit.PerfkitError, match=r"\.html"):
        _run(["flame", bad_path, "-o", tmp_path / "f.jpg"])
    existing = tmp_path / "f.svg"
    existing.write_text("keep")
    with pytest.raises(perfkit.PerfkitError, match="f.svg"):
        _run(["flame", bad_path, "-o", existing])
    with pytest.raises(perfkit.PerfkitError, match="f.svg"):
        _run(["diff-flame", bad_path, bad_path, "-o", existing])
    assert existing.read_text() == "keep"


@pytest.mark.skipif(not _have("flame_static"), reason="perfkit.render.flame_static not written yet")
@pytest.mark.parametrize("ext", ["svg", "png"])
def test_cli_flame_static(fleet_dir, bad_path, tmp_path, ext):
    out = tmp_path / f"f.{ext}"
    assert _run(["flame", bad_path, "-o", out, "--icicle", "--focus", "crypto"]) == 0
    assert out.stat().st_size > 1000
    out2 = tmp_path / f"d.{ext}"
    assert _run(["diff-flame", fleet_dir / "pprof-normal" / "profile", bad_path, "-o", out2,
                 "--normalize", "per_second"]) == 0
    assert out2.stat().st_size > 1000


@pytest.mark.skipif(not _have("flame_html"), reason="perfkit.render.flame_html not written yet")
def test_cli_flame_html(fleet_dir, bad_path, tmp_path):
    out = tmp_path / "f.html"
    assert _run(["flame", bad_path, "-o", out]) == 0
    assert "<html" in out.read_text().lower()
    out2 = tmp_path / "d.html"
    assert _run(["diff-flame", fleet_dir / "pprof-normal" / "profile", bad_path, "-o", out2, "--reverse"]) == 0
    assert out2.stat().st_size > 1000
