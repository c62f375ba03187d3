"""CLI subcommands that draw: `flame`, `diff-flame`, `callgraph`.

`perfkit.cli` hooks them in with ``add_graph_commands(sub)``. Each command returns an exit
code and raises PerfkitError for anything the user can fix; an existing output
file is never replaced without --force.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import PerfkitError
from .shared import add_filter_options, add_granularity, add_sample_index, filters_from_args, read_profile_arg

FLAME_EXTS = (".html", ".svg", ".png")
CALLGRAPH_EXTS = (".svg", ".png", ".pdf", ".dot")
# render modules are imported inside the commands: matplotlib and Graphviz cost a second at start-up


def _output(a, allowed: tuple[str, ...], inputs=()) -> tuple[Path, str]:
    out = Path(a.output)
    ext = out.suffix.lower()
    if ext not in allowed:
        raise PerfkitError(out, f"unknown output extension {ext or '(none)'!r}: use one of "
                           + ", ".join(allowed))
    if out.exists():
        if any(out.resolve() == Path(i).resolve() for i in inputs):
            raise PerfkitError(out, "output would overwrite an input profile")
        if not a.force:
            raise PerfkitError(out, "output file exists (pass --force to replace it)")
    return out, ext


def _done(out: Path, what: str) -> int:
    size = out.stat().st_size if out.exists() else 0
    print(f"wrote {out} ({what}, {size:,} bytes)", file=sys.stderr)
    return 0


def cmd_flame(a) -> int:
    out, ext = _output(a, FLAME_EXTS, (a.path,))
    p = read_profile_arg(a.path)
    f = filters_from_args(a)
    if ext == ".html":
        from ..render.flame_html import interactive_flame
        interactive_flame(p, a.sample_index, min_fraction=a.min_fraction, inverted=False, filters=f).save(out)
    else:
        from ..render.flame_static import flame_graph, save_figure
        fig = flame_graph(p, a.sample_index, min_fraction=a.min_fraction, icicle=a.icicle, filters=f)
        save_figure(fig, out)
    return _done(out, "flame graph")


def cmd_diff_flame(a) -> int:
    out, ext = _output(a, FLAME_EXTS, (a.base, a.target))
    base, target = read_profile_arg(a.base), read_profile_arg(a.target)
    kw = dict(normalize=a.normalize, reverse=a.reverse, min_fraction=a.min_fraction, filters=filters_from_args(a))
    if ext == ".html":
        from ..render.flame_html import interactive_diff_flame
        interactive_diff_flame(base, target, a.sample_index, **kw).save(out)
    else:
        from ..render.flame_static import diff_flame_graph, save_figure
        save_figure(diff_flame_graph(base, target, a.sample_index, **kw), out)
    return _done(out, "differential flame graph")


def cmd_callgraph(a) -> int:
    out, _ = _output(a, CALLGRAPH_EXTS, (a.path,))
    from ..render.callgraph import call_graph
    p = read_profile_arg(a.path)
    g = call_graph(p, a.sample_index, nodefraction=a.nodefraction, edgefraction=a.edgefraction,
                   nodecount=a.nodecount, granularity=a.granularity, filters=filters_from_args(a))
    g.save(out, overwrite=True)
    return _done(out, f"call graph, {len(g.nodes)} nodes, {len(g.edges)} edges")


def add_graph_commands(sub) -> None:
    """Add `flame`, `diff-flame` and `callgraph` to an argparse subparsers object."""
    sp = sub.add_parser("flame", help="flame graph: interactive .html or static .svg/.png")
    sp.add_argument("path")
    sp.add_argument("-o", "--output", required=True, help="out.html, out.svg or out.png")
    add_sample_index(sp)
    sp.add_argument("--min-fraction", type=float, default=0.001, metavar="F",
                    help="hide frames below this fraction of the total (default 0.001)")
    sp.add_argument("--icicle", action="store_true", help="roots on top (static output)")
    sp.add_argument("--force", action="store_true", help="replace an existing output file")
    add_filter_options(sp)
    sp.set_defaults(func=cmd_flame)

    sp = sub.add_parser("diff-flame", help="differential flame graph of TARGET against BASE")
    sp.add_argument("base")
    sp.add_argument("target")
    sp.add_argument("-o", "--output", required=True, help="out.html, out.svg or out.png")
    add_sample_index(sp)
    sp.add_argument("--normalize", choices=("total", "per_second"), default="total")
    sp.add_argument("--reverse", action="store_true", help="draw the base's shape instead of the target's")
    sp.add_argument("--min-fraction", type=float, default=0.001, metavar="F")
    sp.add_argument("--force", action="store_true", help="replace an existing output file")
    add_filter_options(sp)
    sp.set_defaults(func=cmd_diff_flame)

    sp = sub.add_parser("callgraph", help="pprof-style call graph rendered with Graphviz")
    sp.add_argument("path")
    sp.add_argument("-o", "--output", required=True, help="out.svg (or .png, .pdf, .dot)")
    add_sample_index(sp)
    add_granularity(sp)
    sp.add_argument("--nodefraction", type=float, default=0.005, help="drop nodes below this share of cum")
    sp.add_argument("--edgefraction", type=float, default=0.001, help="drop edges below this share")
    sp.add_argument("--nodecount", type=int, default=80, help="keep at most this many nodes (0 = all)")
    sp.add_argument("--force", action="store_true", help="replace an existing output file")
    add_filter_options(sp)
    sp.set_defaults(func=cmd_callgraph)
