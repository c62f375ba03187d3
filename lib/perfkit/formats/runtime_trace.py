"""Go runtime/trace files: recognise the format by its header and parse it into the trace model."""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from pathlib import Path

from ..errors import TraceError
from ..fileio import read_input
from ..model.trace import Trace
from .trace_go122 import parse_v2
from .trace_legacy import parse_legacy

_HEADER = re.compile(rb"^go 1\.(\d+) trace\x00{0,3}")


@dataclass(frozen=True)
class TraceFile:
    """A trace kept as bytes with its detected format version."""
    source: str
    data: bytes
    version: str          # "1.11" ... "1.21" (pre-1.22 family) or "1.22"+

    @property
    def generation(self) -> str:
        """'legacy' for the pre-1.22 format family, 'v2' for 1.22+."""
        return "legacy" if int(self.version.split(".")[1]) < 22 else "v2"

    def __repr__(self) -> str:
        return f"<TraceFile {self.source}: go {self.version} trace, {len(self.data):,} bytes>"


def detect_trace(data: bytes, source: str = "<trace>") -> TraceFile:
    if not data:
        raise TraceError(source, "empty file", 0)
    m = _HEADER.match(data[:16])
    if not m:
        raise TraceError(source, f"not a Go execution trace: header {data[:16]!r}", 0)
    minor = int(m.group(1))
    if minor < 5:
        raise TraceError(source, f"trace format go 1.{minor} predates the supported 1.5+ family", 0)
    return TraceFile(source, data, f"1.{minor}")


_PARSED: "weakref.WeakKeyDictionary[TraceFile, Trace]" = weakref.WeakKeyDictionary()


def read_trace(src, source: str | None = None) -> Trace:
    """Parse a trace from a path, bytes or a TraceFile.

    A TraceFile is parsed once: reading it again returns the same Trace (treat it as read-only).
    """
    if isinstance(src, TraceFile):
        hit = _PARSED.get(src)
        if hit is None:
            hit = _PARSED[src] = _parse(src)
        return hit
    if isinstance(src, (bytes, bytearray, memoryview)):
        tf = detect_trace(bytes(src), source or "<trace>")
    else:
        p = Path(src)
        data = read_input(p, TraceError, "a trace file")
        tf = detect_trace(data, source or str(p))
    return _parse(tf)


def _parse(tf: TraceFile) -> Trace:
    minor = int(tf.version.split(".")[1])
    if tf.generation == "legacy":
        return parse_legacy(tf.data, tf.source, minor)
    return parse_v2(tf.data, tf.source, minor)
