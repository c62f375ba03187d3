"""Renderers of perfkit's views: static (matplotlib), interactive (inline SVG + JS) and call graphs (Graphviz).

Every chart returns a matplotlib Figure (:class:`StaticFigure`) or an object with an
inline representation (:class:`InteractiveFlame`, :class:`CallGraph`), and keeps the data
it drew in ``.perfkit_data``, a DataFrame. Colours and units come from :mod:`perfkit.style`.
Each name loads its module on first use, so an interactive flame graph or a call graph never imports matplotlib.
"""
from importlib import import_module

_MODULES = {
    "callgraph": ("CallGraph", "call_graph"),
    "charts": ("delta_bars", "goroutines_side_by_side", "heap_side_by_side", "subsystem_bars"),
    "explorer": ("Explorer", "explore"),
    "flame_html": ("InteractiveFlame", "flame_page", "interactive_diff_flame", "interactive_flame"),
    "flame_static": ("StaticFigure", "diff_colors", "diff_flame_graph", "flame_graph", "new_figure", "save_figure"),
    "findings_chart": ("finding_chart", "finding_chart_note", "readable_traces"),
    "tracecharts": ("p_timeline",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perfkit.render' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOME))


__all__ = [name for names in _MODULES.values() for name in names]
