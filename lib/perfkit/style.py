"""Human formatting of profile values in their sample-type units."""
from __future__ import annotations

import math

import pandas as pd

_TIME = [("h", 3600e9), ("min", 60e9), ("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1)]
_BYTES = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]


def format_value(v: float, unit: str, digits: int = 3) -> str:
    """56730000000 nanoseconds -> '56.7s'; 68738938 bytes -> '65.6MiB'; counts stay numbers."""
    try:
        if v is None or v is pd.NA or math.isnan(float(v)):
            return ""
    except (TypeError, ValueError):
        return str(v)
    u = (unit or "").lower()
    scales = _TIME if u in ("nanoseconds", "ns") else _BYTES if u in ("bytes", "b") else None
    if scales is None:
        if float(v).is_integer():
            return f"{int(v):,}"
        return f"{v:.{digits}g}"
    a = abs(v)
    for suffix, scale in scales:
        if a >= scale or scale == 1:
            x = v / scale
            return f"{x:.{digits}g}{suffix}" if not float(x).is_integer() else f"{int(x)}{suffix}"
    return str(v)


def per_second_unit(unit: str) -> str:
    u = (unit or "").lower()
    if u in ("nanoseconds", "ns"):
        return "cores"
    return f"{unit}/s"
