"""Go runtime/trace files: parsers for the pre-1.22 and 1.22+ formats, analyses, derived profiles."""
from __future__ import annotations

from pathlib import Path

from ..errors import TraceError
from ..sources.files import read_input
from ..sources.trace_header import TraceFile, detect_trace
from .model import Trace


def read_trace(src, source: str | None = None) -> Trace:
    """Parse a trace from a path, bytes or a TraceFile."""
    if isinstance(src, TraceFile):
        tf = src
    elif isinstance(src, (bytes, bytearray, memoryview)):
        tf = detect_trace(bytes(src), source or "<trace>")
    else:
        p = Path(src)
        data = read_input(p, TraceError, "a trace file")
        tf = detect_trace(data, source or str(p))
    minor = int(tf.version.split(".")[1])
    if tf.generation == "legacy":
        from .legacy import parse_legacy
        return parse_legacy(tf.data, tf.source, minor)
    from .v2 import parse_v2
    return parse_v2(tf.data, tf.source, minor)


__all__ = ["Trace", "read_trace"]
