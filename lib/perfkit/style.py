"""The one style of perfkit's output: palette, unit formatting and labels, the diff colour scale.

Base layer: no matplotlib here. Colours are ``#rrggbb`` strings that
matplotlib, Graphviz and the browser all accept, so every renderer (static,
interactive, call graph, charts) draws the same colour for the same thing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["OTHER", "SUBSYSTEM_COLORS", "OTHER_COLOR", "EXTRA_COLORS", "SERIES_COLORS", "SEARCH_MATCH_COLOR",
           "format_value", "format_rate", "unit_steps", "per_second_unit", "is_time_unit", "is_bytes_unit",
           "value_label", "cores", "NANOS_PER_CORE", "DiffScale", "DIFF_SCALE", "relative_delta"]

OTHER = "other"

# ---------------------------------------------------------------- palette
# a fixed colour per subsystem of the default mapping, readable on white, stable across charts;
# mappings of their own get these for the names they share, then EXTRA_COLORS in order
SUBSYSTEM_COLORS: dict[str, str] = {
    "math/big": "#d62728",
    "TLS & crypto": "#ff7f0e",
    "GC": "#8c564b",
    "memory allocation": "#c49c94",
    "syscalls & netpoll": "#9467bd",
    "database/sql": "#1f77b4",
    "database/sql & MySQL driver": "#1f77b4",
    "Redis": "#e377c2",
    "HTTP serving & routing": "#2ca02c",
    "JSON/encoding": "#bcbd22",
    "Go scheduler & runtime": "#7f7f7f",
    "application": "#17becf",
    OTHER: "#c7c7c7",
}
OTHER_COLOR = SUBSYSTEM_COLORS[OTHER]
EXTRA_COLORS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#f7b6d2", "#dbdb8d", "#9edae5")
SEARCH_MATCH_COLOR = "#ee44ee"     # frames matching a flame graph search
# one colour per compared profile (grouped bars, side-by-side panels)
SERIES_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")

# ---------------------------------------------------------------- units
_TIME = [("h", 3600e9), ("min", 60e9), ("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1)]
_BYTES = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]


def is_time_unit(unit: str | None) -> bool:
    return (unit or "").lower() in ("nanoseconds", "ns")


def is_bytes_unit(unit: str | None) -> bool:
    return (unit or "").lower() in ("bytes", "b")


def unit_steps(unit: str | None) -> list[tuple[str, float]] | None:
    """The (suffix, scale) steps :func:`format_value` uses for ``unit``, largest first; None for counts.

    The interactive flame graph's script formats with these same steps."""
    if is_time_unit(unit):
        return list(_TIME)
    if is_bytes_unit(unit):
        return [(s, float(k)) for s, k in _BYTES]
    return None


def _g(x: float, digits: int) -> str:
    return f"{int(x)}" if float(x).is_integer() else f"{x:.{digits}g}"


def format_value(v: float, unit: str, digits: int = 3) -> str:
    """56730000000 nanoseconds -> '56.7s'; 68738938 bytes -> '65.6MiB'; counts stay numbers.

    ``unit="cores"`` (CPU nanoseconds per second, already divided by 1e9) -> '1.23 cores'.
    """
    try:
        if v is None or v is pd.NA or math.isnan(float(v)):
            return ""
    except (TypeError, ValueError):
        return str(v)
    if unit == "cores":
        return f"{float(v):.{digits}g} cores"
    scales = _TIME if is_time_unit(unit) else _BYTES if is_bytes_unit(unit) else None
    if scales is None:
        return f"{int(v):,}" if float(v).is_integer() else f"{v:.{digits}g}"
    a = abs(v)
    for suffix, scale in scales:
        if a >= scale or scale == 1:
            return _g(v / scale, digits) + suffix
    return str(v)


NANOS_PER_CORE = 1e9       # CPU nanoseconds per wall second that make one busy core


def cores(nanoseconds_per_second):
    """CPU nanoseconds per wall second -> cores used (a number or an array)."""
    return nanoseconds_per_second / NANOS_PER_CORE


def format_rate(v: float, unit: str, digits: int = 3, *, signed: bool = False) -> str:
    """A per-second value of a profile unit ('nanoseconds' or 'nanoseconds/s' alike): CPU time
    reads as cores ('0.468 cores'), the rest as '<value>/s'. ``signed``: a leading '+' when positive."""
    unit = (unit or "").removesuffix("/s")
    text = (format_value(cores(v), "cores", digits) if is_time_unit(unit)
            else f"{format_value(v, unit, digits)}/s")
    return "+" + text if signed and v > 0 else text


def per_second_unit(unit: str) -> str:
    """The unit label of a per-second value: 'cores' for CPU time, else '<unit>/s'."""
    return "cores" if is_time_unit(unit) else f"{unit}/s"


def value_label(unit: str, *, per_second: bool = False) -> str:
    """An axis label for values of ``unit`` (per second when asked)."""
    if per_second:
        return per_second_unit(unit)
    return unit or "value"


# ---------------------------------------------------------------- the diff colour scale
def _hex(rgb) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


@dataclass(frozen=True)
class DiffScale:
    """Colour of a frame's change, shared by every diff (static and interactive flame graphs, charts).

    ``rel`` is the frame's relative delta in [-1, 1] (delta / max(|base|, |target|)):
    +1 is new work, -1 vanished work. Colours run white -> ``grew`` (red) and
    white -> ``shrank`` (blue) in ``levels`` steps, the lightest step at
    ``floor`` so that small real changes keep some colour. Deltas within the
    sampling noise are ``noise``; frames present on one side only ``only_target``
    / ``only_base``.
    """

    grew: str = "#c0392b"
    shrank: str = "#1f5fbf"
    noise: str = "#d9d9d9"
    only_target: str = "#9b59b6"
    only_base: str = "#00897b"
    levels: int = 8
    floor: float = 0.2

    def level(self, rel: float) -> int:
        """0..levels-1: the intensity step of |rel|."""
        a = min(1.0, abs(float(rel))) if math.isfinite(rel) else 0.0
        return min(self.levels - 1, int(a * self.levels))

    def step_color(self, grew: bool, level: int) -> str:
        end = _rgb(self.grew if grew else self.shrank)
        t = self.floor + (1 - self.floor) * (level + 1) / self.levels
        return _hex(255 + (c - 255) * t for c in end)

    def palette(self) -> list[str]:
        """[noise, only_target, only_base, grew levels..., shrank levels...]: the table the JS indexes."""
        return ([self.noise, self.only_target, self.only_base]
                + [self.step_color(True, k) for k in range(self.levels)]
                + [self.step_color(False, k) for k in range(self.levels)])

    def classify(self, rel, noise, only_in) -> tuple[np.ndarray, np.ndarray]:
        """Per frame: index into :meth:`palette` and state ("grew", "shrank", "only-in", "noise").

        ``only_in`` holds "", "target" or "base"; a frame with rel == 0 is noise.
        """
        rel = np.nan_to_num(np.asarray(rel, float))
        noise = np.asarray(noise, bool)
        only = np.asarray(only_in, dtype=object)
        idx = np.zeros(len(rel), np.int64)
        state = np.full(len(rel), "noise", dtype=object)
        lv = np.minimum(self.levels - 1, (np.minimum(1.0, np.abs(rel)) * self.levels).astype(np.int64))
        real = ~noise & (rel != 0)
        up, down = real & (rel > 0), real & (rel < 0)
        idx[up], state[up] = 3 + lv[up], "grew"
        idx[down], state[down] = 3 + self.levels + lv[down], "shrank"
        has_only = np.array([bool(o) for o in only], bool)
        idx[has_only] = np.where(only[has_only] == "base", 2, 1)
        state[has_only] = "only-in"
        return idx, state

    def colors(self, rel, noise, only_in) -> list[str]:
        pal = self.palette()
        idx, _ = self.classify(rel, noise, only_in)
        return [pal[i] for i in idx]

    def sign_color(self, delta: float, noise: bool = False) -> str:
        """The full-strength colour of a change's direction (bars of the comparison charts)."""
        if noise or not delta:
            return self.noise
        return self.step_color(delta > 0, self.levels - 1)


DIFF_SCALE = DiffScale()


def relative_delta(base, target, delta) -> np.ndarray:
    """delta / max(|base|, |target|), clipped to [-1, 1]: the input of :class:`DiffScale`."""
    b, t, d = (np.asarray(x, float) for x in (base, target, delta))
    den = np.maximum(np.abs(b), np.abs(t))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(den > 0, d / den, 0.0)
    return np.clip(np.nan_to_num(rel), -1, 1)
