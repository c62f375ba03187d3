"""Renderers of perfkit's views: static (matplotlib), interactive (inline SVG + JS) and call graphs (Graphviz).

Every chart returns a matplotlib Figure (:class:`StaticFigure`) or an object with an
inline representation (:class:`InteractiveFlame`, :class:`CallGraph`), and keeps the data
it drew in ``.perfkit_data``, a DataFrame. Colours and units come from :mod:`perfkit.style`.
"""
from .callgraph import CallGraph, call_graph
from .charts import delta_bars, goroutines_side_by_side, heap_side_by_side, subsystem_bars
from .explorer import Explorer, explore
from .flame_html import InteractiveFlame, flame_page, interactive_diff_flame, interactive_flame
from .flame_static import StaticFigure, diff_colors, diff_flame_graph, flame_graph, new_figure, save_figure
from .findings_chart import finding_chart, finding_chart_note, readable_traces
from .tracecharts import p_timeline

__all__ = ["CallGraph", "call_graph", "delta_bars", "goroutines_side_by_side", "heap_side_by_side",
           "subsystem_bars", "InteractiveFlame", "flame_page", "interactive_diff_flame", "interactive_flame",
           "StaticFigure", "diff_colors", "diff_flame_graph", "flame_graph", "new_figure", "save_figure",
           "p_timeline", "Explorer", "explore", "finding_chart", "finding_chart_note", "readable_traces"]
