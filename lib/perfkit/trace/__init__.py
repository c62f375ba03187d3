"""Analyses of Go runtime traces, on the normalised tables every trace parser emits."""
from __future__ import annotations

from ..formats.runtime_trace import read_trace
from ..model.trace import Trace, TraceTables
from .analysis import (GCSummary, IdleStretch, TraceSummary, gc_summary, goroutine_creation, goroutine_states,
                       goroutine_time, gomaxprocs, longest_idle, p_utilization, trace_summary)
from .blocking import blocking_profile, write_blocking_profile

__all__ = ["Trace", "TraceTables", "read_trace", "TraceSummary", "GCSummary", "IdleStretch", "trace_summary",
           "gc_summary", "longest_idle", "p_utilization", "gomaxprocs", "goroutine_states",
           "goroutine_creation", "goroutine_time", "blocking_profile", "write_blocking_profile"]
