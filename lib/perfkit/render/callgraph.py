"""Call graphs rendered with Graphviz, in the spirit of `go tool pprof -dot`/`-web`.

Pruning follows pprof's `newTrimmedGraph` for the dot output, step by step:

1. cutoffs are fractions of the graph total (sum of flat over all nodes, which is
   the profile total when no filter hides frames): ``node_cutoff =
   int(total * nodefraction)``, ``edge_cutoff = int(total * edgefraction)``;
2. nodes with ``|cum| < node_cutoff`` are dropped and the graph is rebuilt from
   the samples without them: flat and cum of the kept nodes do not change, and a
   caller that reached a kept callee only through dropped frames gets a
   *residual* edge (drawn dotted);
3. nodes are ordered by pprof's "entropy" order (``int(score * cum) + flat``,
   where score favours entry and leaf nodes and nodes whose edges spread over
   several callers/callees; ties by name, then |flat|), and the first
   ``nodecount`` are kept (pprof's visual mode; label "nodelets" are not drawn,
   so they do not count); the graph is rebuilt again from the samples;
4. edges with ``|weight| < edge_cutoff`` are dropped, then residual edges that
   are redundant (the callee is still reachable from the caller another way)
   are removed, lightest first, as pprof does.

Drawing: the label is ``name\\nflat (flat%)\\nof cum (cum%)`` (pprof's text;
"of cum" is left out when cum equals flat); font size is pprof's
``8 + ceil(16 * sqrt(|flat| / max|flat|))`` over the kept nodes; edge pen width
is ``1 + min(int(|w| * 5 / total), 5)`` and the layout weight ``1 + min(int(|w|
* 100 / total), 100)``, both as pprof; edge labels are the weight in human units
(plus "(inline)" for inlined calls, drawn dashed); residual edges are dotted.
Nodes are filled with their subsystem's colour (``Subsystems``), lightened, and
outlined in the full colour. Percentages are of the profile total (as in
``perfkit.top``).
"""
from __future__ import annotations

import math
import os
import shutil
from collections import deque

import numpy as np
import pandas as pd

from ..errors import OptionError, PerfkitError, ToolMissingError
from ..model.profile import Profile
from ..style import format_value
from ..model.filter import Filters, checked_options
from ..views.aggregate import Aggregation, aggregate_nodes
from ..views.subsystems import Subsystems, as_subsystems

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

INSTALL_HINT = ("the Graphviz `dot` program is needed to render call graphs: install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `conda install -c conda-forge graphviz` "
                "or `brew install graphviz`")


def _pct(v, total) -> float:
    return v * 100.0 / total if total else 0.0


def _pct_text(v, total) -> str:
    return f"{_pct(v, total):.2f}%"


# ---------------------------------------------------------------- graph building

def _graph_edges(agg: Aggregation, keep: np.ndarray) -> pd.DataFrame:
    """Edges between kept nodes, rebuilt from the samples as pprof's newGraph does.

    An edge counts once per sample (its root-most occurrence decides its flags);
    an edge is inline only if every counted occurrence is, residual if any
    counted occurrence skipped dropped frames. Self edges are skipped.
    """
    fr = agg.frames
    node = agg.frame_node
    live = agg.stack_live[fr.stack] & (node >= 0)
    sel = live.copy()
    sel[live] = keep[node[live]]
    pos = np.nonzero(sel)[0]
    st, nd = fr.stack[pos], node[pos]
    same = st[1:] == st[:-1]
    df = pd.DataFrame({
        "stack": st[:-1][same],
        "caller": nd[1:][same],
        "callee": nd[:-1][same],
        "depth": fr.depth[pos[1:]][same],
        "inline": fr.inline[pos[:-1]][same].astype(bool),
        "residual": (np.diff(pos) > 1)[same],
    })
    df = df[df["caller"] != df["callee"]]
    cols = ["caller", "callee", "weight", "inline", "residual"]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(cols, ("int64", "int64", "int64", "bool", "bool"))})
    # pprof walks a sample from the root: the root-most occurrence of a pair counts
    df = df.sort_values("depth", ascending=False, kind="mergesort")
    df = df.drop_duplicates(["stack", "caller", "callee"], keep="first")
    df["weight"] = agg.stack_weight[df["stack"].to_numpy()]
    e = df.groupby(["caller", "callee"], sort=False).agg(
        weight=("weight", "sum"), inline=("inline", "all"), residual=("residual", "any")).reset_index()
    return e[cols]


def _edge_entropy(weights: np.ndarray, self_w: int) -> float:
    total = self_w + int(np.abs(weights[weights > 0]).sum())
    score = 0.0
    if total != 0:
        for w in weights:
            frac = abs(int(w)) / total
            if frac > 0:
                score += -frac * math.log2(frac)
        if self_w > 0:
            frac = abs(self_w) / total
            score += -frac * math.log2(frac)
    return score


def _entropy_order(nodes: np.ndarray, names: np.ndarray, flat: np.ndarray, cum: np.ndarray,
                   e: pd.DataFrame) -> list[int]:
    """pprof's EntropyOrder: |int(score*cum) + flat| desc, name asc, |flat| desc."""
    ins = {k: g["weight"].to_numpy() for k, g in e.groupby("callee")} if len(e) else {}
    outs = {k: g["weight"].to_numpy() for k, g in e.groupby("caller")} if len(e) else {}
    keyed = []
    for n in nodes.tolist():
        score = 0.0
        score += 1 if n not in ins else _edge_entropy(ins[n], 0)
        score += 1 if n not in outs else _edge_entropy(outs[n], int(flat[n]))
        s = int(score * float(cum[n])) + int(flat[n])
        keyed.append((-abs(s), str(names[n]), -abs(int(flat[n])), n))
    keyed.sort()
    return [k[-1] for k in keyed]


def _remove_redundant_edges(order: list[int], e: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    """pprof's RemoveRedundantEdges: drop residual edges whose callee stays reachable."""
    if e.empty or not e["residual"].any():
        return e
    in_edges: dict[int, dict[int, int]] = {}
    for i, (src, dst) in enumerate(zip(e["caller"].tolist(), e["callee"].tolist())):
        in_edges.setdefault(dst, {})[src] = i
    w = e["weight"].to_numpy()
    res = e["residual"].to_numpy()
    removed: set[int] = set()

    def redundant(src: int, dst: int, idx: int) -> bool:
        seen = {dst}
        queue = deque([dst])
        while queue:
            n = queue.popleft()
            for s, j in in_edges.get(n, {}).items():
                if j == idx or s in seen:
                    continue
                if s == src:
                    return True
                seen.add(s)
                queue.append(s)
        return False

    for n in reversed(order):
        inn = sorted(in_edges.get(n, {}).items(),
                     key=lambda kv: (-abs(int(w[kv[1]])), str(names[kv[0]]), str(names[n])))
        for src, idx in reversed(inn):
            if not res[idx]:
                break
            if redundant(src, n, idx):
                del in_edges[n][src]
                removed.add(idx)
    return e.drop(index=e.index[sorted(removed)]) if removed else e


# ---------------------------------------------------------------- the result

class CallGraph:
    """A pruned call graph: `.nodes` (also `.perfkit_data`, as for every chart), `.edges`, `.dot_source`;
    renders to SVG inline."""

    def __init__(self, nodes: pd.DataFrame, edges: pd.DataFrame, dot_source: str, info: dict):
        self.nodes = nodes
        self.edges = edges
        self.dot_source = dot_source
        self.info = info
        self._cache: dict[str, bytes] = {}

    @property
    def perfkit_data(self) -> pd.DataFrame:
        return self.nodes

    def __repr__(self) -> str:
        return (f"<CallGraph {self.info.get('source')}: {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{self.info.get('sample_type')} total {format_value(self.info.get('total', 0), self.info.get('unit'))}>")

    def render(self, fmt: str = "svg") -> bytes:
        """Run `dot -T<fmt>` on the DOT source ('svg', 'png', 'pdf'; 'dot' returns the source)."""
        if fmt == "dot":
            return self.dot_source.encode("utf-8")
        if fmt not in self._cache:
            self._cache[fmt] = _run_dot(self.dot_source, fmt, self.info.get("source"))
        return self._cache[fmt]

    def svg(self) -> str:
        return self.render("svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path, *, overwrite: bool = True):
        """Write svg/png/pdf/dot chosen by the extension, atomically."""
        from ..fileio import write_bytes
        ext = os.path.splitext(str(path))[1].lower()
        fmt = FORMATS.get(ext)
        if fmt is None:
            raise OptionError(path, f"unknown call graph format {ext or '(none)'!r}: use one of "
                              + ", ".join(sorted(FORMATS)))
        if not overwrite and os.path.exists(path):
            raise OptionError(path, "output file exists (pass overwrite=True or --force to replace it)")
        return write_bytes(path, self.render(fmt), overwrite=overwrite)


def _run_dot(source: str, fmt: str, where) -> bytes:
    try:
        import graphviz
    except ImportError:
        raise ToolMissingError(where, "the `graphviz` Python package is not installed "
                               "(pip install graphviz); " + INSTALL_HINT) from None
    if shutil.which("dot") is None:
        raise ToolMissingError(where, INSTALL_HINT)
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise ToolMissingError(where, INSTALL_HINT) from None
    except graphviz.CalledProcessError as e:
        raise PerfkitError(where, f"dot -T{fmt} failed: {e.stderr!r}") from None


# ---------------------------------------------------------------- public entry

@checked_options
def call_graph(profile: Profile, sample_index=None, *, nodefraction: float = 0.005,
               edgefraction: float = 0.001, nodecount: int = 80, granularity: str = "functions",
               title: str | None = None, subsystems=None, filters: Filters | None = None) -> CallGraph:
    """A pprof-style call graph of `profile` (see the module docstring for pruning).

    filters: focus, ignore, hide, show, tagfocus, tagignore (pprof semantics).
    nodecount <= 0 keeps every node above nodefraction.
    """
    if nodefraction < 0 or edgefraction < 0:
        raise OptionError(profile.source, "nodefraction and edgefraction must be >= 0")
    subs: Subsystems = as_subsystems(subsystems)
    agg = aggregate_nodes(profile, sample_index, granularity=granularity, filters=filters)
    flat, cum, present = agg.node_flat_cum
    names = agg.nodes.names
    total = agg.total
    graph_total = int(flat[present].sum())
    node_cutoff = abs(int(graph_total * nodefraction))
    edge_cutoff = abs(int(graph_total * edgefraction))

    keep = present.copy()
    if node_cutoff > 0:
        keep &= np.abs(cum) >= node_cutoff
    dropped_nodes = int(present.sum() - keep.sum())
    orig_count = int(keep.sum())
    e = _graph_edges(agg, keep)
    order = _entropy_order(np.nonzero(keep)[0], names, flat, cum, e)
    if nodecount and nodecount > 0:
        e = e[np.abs(e["weight"]) >= edge_cutoff]
        if nodecount < len(order):
            keep = np.zeros_like(keep)
            keep[order[:nodecount]] = True
            e = _graph_edges(agg, keep)
            order = _entropy_order(np.nonzero(keep)[0], names, flat, cum, e)
    n_before = len(e)
    e = e[np.abs(e["weight"]) >= edge_cutoff]
    dropped_edges = n_before - len(e)
    e = _remove_redundant_edges(order, e.reset_index(drop=True), names)

    # ---- tables
    idx = np.array(order, dtype=np.int64)
    node_id = {n: f"N{i + 1}" for i, n in enumerate(order)}
    max_flat = float(np.abs(flat[idx]).max()) if len(idx) else 0.0
    nd = pd.DataFrame({"id": [node_id[n] for n in order], "name": names[idx].astype(object),
                       "flat": flat[idx].astype(np.int64), "cum": cum[idx].astype(np.int64)})
    nd["flat_pct"] = nd["flat"] * 100.0 / total if total else 0.0
    nd["cum_pct"] = nd["cum"] * 100.0 / total if total else 0.0
    nd["subsystem"] = subs.classify_many(nd["name"])
    nd["color"] = [subs.color(s) for s in nd["subsystem"]]
    nd["fontsize"] = [8 + (math.ceil(16 * math.sqrt(abs(f) / max_flat)) if max_flat and f else 0)
                      for f in nd["flat"].tolist()]
    nd = nd[["id", "name", "flat", "flat_pct", "cum", "cum_pct", "subsystem", "color", "fontsize"]]

    ed = pd.DataFrame({"caller": names[e["caller"].to_numpy()].astype(object) if len(e) else [],
                       "callee": names[e["callee"].to_numpy()].astype(object) if len(e) else [],
                       "weight": e["weight"].to_numpy(np.int64), "inline": e["inline"].to_numpy(bool),
                       "residual": e["residual"].to_numpy(bool)})
    ed["caller_id"] = [node_id[n] for n in e["caller"].tolist()]
    ed["callee_id"] = [node_id[n] for n in e["callee"].tolist()]
    ed["pct"] = ed["weight"] * 100.0 / total if total else 0.0
    ed["penwidth"] = [1 + min(abs(int(w)) * 5 // total, 5) if total else 1 for w in ed["weight"].tolist()]
    ed = ed.sort_values(["weight", "caller", "callee"], key=lambda s: -np.abs(s) if s.name == "weight" else s,
                        kind="mergesort").reset_index(drop=True)

    unit = agg.unit
    shown = int(nd["flat"].sum())
    info = dict(source=profile.source, unit=unit, sample_type=agg.sample_type, total=total,
                graph_total=graph_total, node_cutoff=node_cutoff, edge_cutoff=edge_cutoff,
                dropped_nodes=dropped_nodes, dropped_edges=dropped_edges, orig_count=orig_count,
                shown_total=shown, nodefraction=nodefraction, edgefraction=edgefraction,
                nodecount=nodecount, granularity=granularity, filters=filters.active() if filters else {})
    for df in (nd, ed):
        df.attrs.update({k: v for k, v in info.items() if k != "filters"})
    legend = _legend(profile, agg, title, info)
    return CallGraph(nd, ed, _dot(nd, ed, legend, total, unit), info)


def _legend(profile: Profile, agg: Aggregation, title, info) -> list[str]:
    unit, total = info["unit"], info["total"]
    lines = [title or (os.path.basename(str(profile.source)) if profile.source else "profile")]
    lines.append(f"Type: {agg.sample_type}")
    if profile.duration_nanos:
        lines.append(f"Duration: {format_value(profile.duration_nanos, 'nanoseconds')}, "
                     f"Total samples = {format_value(total, unit)} ({_pct_text(total, profile.duration_nanos)})"
                     if unit == "nanoseconds" else
                     f"Duration: {format_value(profile.duration_nanos, 'nanoseconds')}")
    for k, v in info["filters"].items():
        if v:
            lines.append(f"{k}={v}")
    lines.append(f"Showing nodes accounting for {format_value(info['shown_total'], unit)}, "
                 f"{_pct_text(info['shown_total'], total)} of {format_value(total, unit)} total")
    if info["dropped_nodes"]:
        lines.append(f"Dropped {info['dropped_nodes']} nodes (cum <= {format_value(info['node_cutoff'], unit)})")
    if info["dropped_edges"]:
        lines.append(f"Dropped {info['dropped_edges']} edges (freq <= {format_value(info['edge_cutoff'], unit)})")
    if info["nodecount"] and info["nodecount"] > 0 and info["orig_count"] > info["nodecount"]:
        lines.append(f"Showing top {info['nodecount']} nodes out of {info['orig_count']}")
    return lines


def _esc(s: str) -> str:
    """Escape text for a quoted DOT string (newlines become centred line breaks)."""
    return str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _light(color: str, alpha: str = "55") -> str:
    return color + alpha if color.startswith("#") and len(color) == 7 else color


def _dot(nd: pd.DataFrame, ed: pd.DataFrame, legend: list[str], total: int, unit: str) -> str:
    out = ["digraph callgraph {",
           'node [style=filled fillcolor="#f8f8f8" fontname="Helvetica"]',
           'edge [fontname="Helvetica"]']
    out.append('subgraph cluster_L { "legend" [shape=box fontsize=16 label="'
               + "\\l".join(_esc(s) for s in legend) + '\\l" tooltip="legend"] }')
    for r in nd.itertuples(index=False):
        fv = format_value(r.flat, unit)
        label = f"{r.name}\n"
        label += f"{fv} ({_pct_text(r.flat, total)})" if r.flat != 0 else "0"
        if r.cum != r.flat:
            label += ("\n" if r.flat != 0 else " ") + f"of {format_value(r.cum, unit)} ({_pct_text(r.cum, total)})"
        tooltip = f"{r.name} ({format_value(r.cum, unit)}) [{r.subsystem}]"
        out.append(f'{r.id} [label="{_esc(label)}" id="node{r.id[1:]}" fontsize={r.fontsize} shape=box '
                   f'tooltip="{_esc(tooltip)}" color="{r.color}" fillcolor="{_light(r.color)}"]')
    for r in ed.itertuples(index=False):
        w = format_value(r.weight, unit)
        attr = f'label=" {_esc(w)}{chr(92) + "n (inline)" if r.inline else ""}"'
        if total:
            weight = 1 + min(abs(int(r.weight)) * 100 // total, 100)
            if weight > 1:
                attr += f" weight={weight}"
            if r.penwidth > 1:
                attr += f" penwidth={r.penwidth}"
        arrow = "..." if r.residual else "->"
        tip = _esc(f"{r.caller} {arrow} {r.callee} ({w})")
        attr += f' tooltip="{tip}" labeltooltip="{tip}"'
        if r.residual:
            attr += ' style="dotted"'
        elif r.inline:
            attr += ' style="dashed"'
        out.append(f"{r.caller_id} -> {r.callee_id} [{attr}]")
    out.append("}")
    return "\n".join(out) + "\n"
