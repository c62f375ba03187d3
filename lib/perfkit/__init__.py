"""perfkit: a Jupyter-first investigation kit for Go services.

Read profiles, debug archives and runtime traces (:mod:`perfkit.formats`), look at them as DataFrames
(:mod:`perfkit.views`, :mod:`perfkit.trace`, :mod:`perfkit.metrics`, :mod:`perfkit.analysis`) and draw them
(:mod:`perfkit.render`). The chart functions are loaded on first use, so ``import perfkit`` does not import
matplotlib or Graphviz.
"""
from importlib import import_module

from .analysis import DETECTORS, THRESHOLDS, Evidence, Finding, Triage, triage
from .errors import (ArchiveError, EmptyProfileError, OptionError, PerfkitError, ProfileError, ToolMissingError,
                     TraceError)
from .formats.archive import DebugArchive, load_archive
from .formats.collect import CollectError, collect
from .formats.goroutine_text import parse_crash, parse_goroutines
from .formats.legacy_text import memstats
from .formats.pprof import decode_profile, encode_profile, read_profile, write_profile
from .formats.runtime_trace import TraceFile, detect_trace, read_trace
from .metrics import Scraper, histogram_quantile, increase, rate, sum_by
from .model.builder import ProfileBuilder
from .model.filter import Filters, apply_filters
from .model.merge import merge
from .model.profile import Profile, ValueType
from .model.trace import Trace
from .style import format_rate, format_value
from .toolchain import find_go
from .views.diff import diff
from .views.export import to_folded, to_speedscope, write_folded, write_speedscope
from .views.flame import diff_flame_layout, flame_layout
from .views.goroutines import goroutine_groups, goroutines_frame
from .views.graph import edges, peek
from .views.normalize import cores_used, per_second
from .views.sandwich import sandwich
from .views.source import source_lines
from .views.subsystems import DEFAULT_SUBSYSTEMS, Subsystems, subsystem_breakdown
from .views.top import top
from .views.tree import call_tree, sample_stacks

__version__ = "0.1.0"

# name -> module, imported on first attribute access (matplotlib and Graphviz are slow to import)
_LAZY = {
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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perfkit' has no attribute {name!r}")


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
    "format_value", "format_rate", "find_go",
    # render (lazy)
    *_LAZY,
]
