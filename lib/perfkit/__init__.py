"""perfkit: a Jupyter-first investigation kit for Go services.

Read profiles, debug archives and runtime traces (:mod:`perfkit.formats`), look at them as DataFrames
(:mod:`perfkit.views`, :mod:`perfkit.trace`, :mod:`perfkit.metrics`, :mod:`perfkit.analysis`) and draw them
(:mod:`perfkit.render`). Every name is loaded on first use, so ``import perfkit`` is quick: numpy and pandas
come with the first reader or view used, matplotlib and Graphviz with the first chart.
"""
from importlib import import_module

from .errors import (ArchiveError, EmptyProfileError, OptionError, PerfkitError, ProfileError, ToolMissingError,
                     TraceError)
from .allocator import tune_allocator
from .toolchain import find_go

tune_allocator()            # big arrays from the heap, freed memory reused (PERFKIT_ALLOCATOR=system: off)

__version__ = "0.1.0"

# name -> module, imported on first attribute access: `import perfkit` loads no numpy, pandas,
# matplotlib or Graphviz until a name is used
_LAZY = {
    "DETECTORS": "analysis", "THRESHOLDS": "analysis", "Evidence": "analysis", "Finding": "analysis",
    "Triage": "analysis", "triage": "analysis", "DebugArchive": "formats.archive",
    "load_archive": "formats.archive", "CollectError": "formats.collect", "collect": "formats.collect",
    "parse_crash": "formats.goroutine_text", "parse_goroutines": "formats.goroutine_text",
    "memstats": "formats.legacy_text", "decode_profile": "formats.pprof", "encode_profile": "formats.pprof",
    "read_profile": "formats.pprof", "write_profile": "formats.pprof", "TraceFile": "formats.runtime_trace",
    "detect_trace": "formats.runtime_trace", "read_trace": "formats.runtime_trace", "Scraper": "metrics",
    "histogram_quantile": "metrics", "increase": "metrics", "rate": "metrics", "sum_by": "metrics",
    "ProfileBuilder": "model.builder", "Filters": "model.filter", "apply_filters": "model.filter",
    "merge": "model.merge", "Profile": "model.profile", "ValueType": "model.profile", "Trace": "model.trace",
    "diff": "views.diff", "to_folded": "views.export", "to_speedscope": "views.export",
    "write_folded": "views.export", "write_speedscope": "views.export", "diff_flame_layout": "views.flame",
    "flame_layout": "views.flame", "goroutine_groups": "views.goroutines",
    "goroutines_frame": "views.goroutines", "edges": "views.graph", "peek": "views.graph",
    "cores_used": "views.normalize", "per_second": "views.normalize", "sandwich": "views.sandwich",
    "source_lines": "views.source", "DEFAULT_SUBSYSTEMS": "views.subsystems", "Subsystems": "views.subsystems",
    "subsystem_breakdown": "views.subsystems", "top": "views.top", "call_tree": "views.tree",
    "sample_stacks": "views.tree", "format_rate": "style", "format_value": "style",
    "CallGraph": "render.callgraph", "call_graph": "render.callgraph",
    "flame_graph": "render.flame_static", "diff_flame_graph": "render.flame_static",
    "save_figure": "render.flame_static",
    "InteractiveFlame": "render.flame_html", "interactive_flame": "render.flame_html",
    "interactive_diff_flame": "render.flame_html", "flame_page": "render.flame_html",
    "delta_bars": "render.charts", "goroutines_side_by_side": "render.charts",
    "heap_side_by_side": "render.charts", "subsystem_bars": "render.charts",
    "p_timeline": "render.tracecharts",
    "explore": "render.explorer",
}


_SUBPACKAGES = {"analysis", "formats", "lab", "metrics", "model", "proto", "render", "report", "trace", "views",
                "cli", "errors", "fileio", "style", "toolchain", "allocator"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:                 # perfkit.analysis after a bare `import perfkit`
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'perfkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    # errors
    "PerfkitError", "ProfileError", "EmptyProfileError", "ArchiveError", "TraceError", "OptionError",
    "ToolMissingError", "CollectError",
    # model
    "Profile", "ValueType", "Filters", "apply_filters", "merge", "ProfileBuilder", "Trace",
    # formats
    "read_profile", "decode_profile", "encode_profile", "write_profile", "memstats", "load_archive", "DebugArchive",
    "collect", "read_trace", "detect_trace", "TraceFile", "parse_goroutines", "parse_crash", "goroutines_frame",
    # views
    "top", "peek", "edges", "call_tree", "sample_stacks", "diff", "goroutine_groups", "cores_used", "per_second",
    "flame_layout", "diff_flame_layout", "Subsystems", "DEFAULT_SUBSYSTEMS", "subsystem_breakdown",
    "to_folded", "write_folded", "to_speedscope", "write_speedscope", "sandwich", "source_lines",
    # triage
    "triage", "Triage", "Finding", "Evidence", "DETECTORS", "THRESHOLDS",
    # metrics
    "Scraper", "rate", "increase", "sum_by", "histogram_quantile",
    # style and tools
    "format_value", "format_rate", "find_go", "tune_allocator",
    # render (lazy)
    *(n for n, m in _LAZY.items() if m.startswith("render.")),
]
