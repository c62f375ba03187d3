"""perfkit: a Jupyter-first investigation kit for Go services."""
from .errors import (ArchiveError, EmptyProfileError, OptionError, PerfkitError, ProfileError,
                     ToolMissingError, TraceError)
from .model.profile import Profile, ValueType
from .formats.pprof import decode_profile, read_profile
from .views.top import top

__version__ = "0.1.0"
from .formats.archive import DebugArchive, load_archive
from .formats.collect import CollectError, collect
from .formats.goroutine_text import goroutines_frame, parse_crash, parse_goroutines
from .formats.runtime_trace import TraceFile, detect_trace
from .style import format_value
from .model.filter import Filters, apply_filters
from .model.merge import merge
from .views.diff import diff
from .views.goroutines import goroutine_groups
from .views.graph import edges, peek
from .views.normalize import cores_used, per_second
from .views.tree import call_tree, sample_stacks
from .views.export import to_folded, to_speedscope, write_folded, write_speedscope
from .formats.pprof import encode_profile, write_profile
from .views.subsystems import DEFAULT_SUBSYSTEMS, Subsystems, subsystem_breakdown
from .views.flame import diff_flame_layout, flame_layout
from .render.callgraph import CallGraph, call_graph
from .render.flame_static import diff_flame_graph, flame_graph, save_figure
from .render.flame_html import InteractiveFlame, flame_page, interactive_diff_flame, interactive_flame
from .render.charts import delta_bars, goroutines_side_by_side, heap_side_by_side, subsystem_bars
