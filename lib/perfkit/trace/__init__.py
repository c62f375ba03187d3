"""Analyses of Go runtime traces, on the normalised tables every trace parser emits."""
from __future__ import annotations

from ..formats.runtime_trace import read_trace
from ..model.trace import Trace

__all__ = ["Trace", "read_trace"]
