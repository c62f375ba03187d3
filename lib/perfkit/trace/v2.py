"""The Go 1.22+ trace format: not implemented yet."""
from __future__ import annotations

from ..errors import TraceError


def parse_v2(data: bytes, source: str = "<trace>", minor: int = 22):
    raise TraceError(source, f"go 1.{minor} traces (the 1.22+ format) are not supported yet", 0)
