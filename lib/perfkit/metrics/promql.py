"""PromQL's functions over a tidy sample frame, with Prometheus's exact definitions.

``rate``/``increase`` follow ``extrapolatedRate`` in Prometheus's
promql/functions.go: counter resets add the value before the reset, the
result is extrapolated towards the window edges (by at most half the
average sample interval beyond the first/last sample when the gap to the
edge is larger than 1.1 intervals, and never below zero for counters).
``histogram_quantile`` is ``bucketQuantile`` from promql/quantile.go.

``compat=2`` (the default, Debian's Prometheus 2.x) selects samples in the
closed window ``[t - range, t]``; ``compat=3`` uses Prometheus 3's
left-open window ``(t - range, t]`` and its order of the zero clamp.

Frames in and out have the tidy shape: ``timestamp``, label columns,
``value``. A series is identified by every column except ``timestamp``,
``value``, ``type`` and ``family``.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .parse import label_columns, seconds

_DROP = {"timestamp", "value", "type", "family"}


def series_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in _DROP]


def select(df: pd.DataFrame, metric: str | None = None, **labels) -> pd.DataFrame:
    """Rows of ``metric`` whose labels match: a string (equality), a compiled regex
    (full match, as ``=~``) or a list/tuple/set of allowed values."""
    m = pd.Series(True, index=df.index)
    if metric is not None:
        m &= df["metric"] == metric
    for k, want in labels.items():
        col = df[k] if k in df.columns else pd.Series("", index=df.index)
        if isinstance(want, re.Pattern):
            m &= col.astype(str).str.fullmatch(want.pattern)
        elif isinstance(want, (list, tuple, set, frozenset)):
            m &= col.isin(list(want))
        else:
            m &= col == str(want)
    return df[m]


def eval_times(df: pd.DataFrame, window: float = 0.0, at=None, *, start=None, end=None, step=None) -> np.ndarray:
    """Evaluation timestamps: ``at`` (scalar or list), else ``start``..``end`` by ``step``
    (defaults: first sample + window .. last sample), else the last sample's time."""
    if at is not None:
        return np.atleast_1d(np.asarray(at, dtype="float64"))
    if df.empty:
        return np.array([], dtype="float64")
    if step is None:
        return np.array([df["timestamp"].max()])
    step = seconds(step)
    lo = float(start) if start is not None else float(df["timestamp"].min()) + window
    hi = float(end) if end is not None else float(df["timestamp"].max())
    n = int(math.floor((hi - lo) / step + 1e-9)) + 1
    return lo + step * np.arange(max(n, 0))


def _extrapolated(ts, v, T, window, *, is_counter, is_rate, compat):
    """Vectorised extrapolatedRate for one series (sorted ts) at evaluation times T.

    Like Prometheus, timestamps are integer milliseconds (Unix seconds near
    1.8e9 leave float64 only ~0.2 us of resolution, which would show as a
    1e-7 relative error)."""
    ts_ms = np.round(ts * 1000).astype("int64")
    T_ms = np.round(T * 1000).astype("int64")
    w_ms = int(round(window * 1000))
    lo = np.searchsorted(ts_ms, T_ms - w_ms, side="left" if compat < 3 else "right")
    hi = np.searchsorted(ts_ms, T_ms, side="right") - 1      # index of last sample <= T
    out = np.full(len(T), np.nan)
    ok = hi - lo >= 1                                        # at least two samples
    if not ok.any():
        return out
    lo, hi, Tk = lo[ok], hi[ok], T_ms[ok]
    if is_counter:
        drops = np.concatenate([[0.0], np.where(v[1:] < v[:-1], v[:-1], 0.0)])
        corr = np.cumsum(drops)
        correction = corr[hi] - corr[lo]
    else:
        correction = 0.0
    first, last = v[lo], v[hi]
    result = last - first + correction
    to_start = (ts_ms[lo] - (Tk - w_ms)) / 1000.0
    to_end = (Tk - ts_ms[hi]) / 1000.0
    sampled = (ts_ms[hi] - ts_ms[lo]) / 1000.0
    avg = sampled / (hi - lo)
    threshold = avg * 1.1
    if compat < 3:
        if is_counter:
            with np.errstate(divide="ignore", invalid="ignore"):
                to_zero = sampled * (first / result)
            clamp = (result > 0) & (first >= 0) & (to_zero < to_start)
            to_start = np.where(clamp, to_zero, to_start)
        interval = sampled + np.where(to_start < threshold, to_start, avg / 2)
        interval = interval + np.where(to_end < threshold, to_end, avg / 2)
    else:
        to_start = np.where(to_start >= threshold, avg / 2, to_start)
        if is_counter:
            with np.errstate(divide="ignore", invalid="ignore"):
                to_zero = sampled * (first / result)
            clamp = (result > 0) & (first >= 0) & (to_zero < to_start)
            to_start = np.where(clamp, to_zero, to_start)
        to_end = np.where(to_end >= threshold, avg / 2, to_end)
        interval = sampled + to_start + to_end
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = interval / sampled
    if is_rate:
        factor = factor / window
    out[ok] = result * factor
    return out


def _range_function(df, window, at, start, end, step, metric, *, is_counter, is_rate, compat, labels):
    window = seconds(window)
    if metric is not None:
        df = select(df, metric, **labels)
    elif labels:
        df = select(df, None, **labels)
    T = eval_times(df, window, at, start=start, end=end, step=step)
    keys = series_columns(df)
    parts = []
    if df.empty or not len(T):
        return pd.DataFrame(columns=["timestamp", *keys, "value"])
    for key, g in df.groupby(keys, sort=True, dropna=False):
        g = g.sort_values("timestamp", kind="stable")
        ts = g["timestamp"].to_numpy(dtype="float64")
        v = g["value"].to_numpy(dtype="float64")
        vals = _extrapolated(ts, v, T, window, is_counter=is_counter, is_rate=is_rate, compat=compat)
        keep = ~np.isnan(vals)
        if not keep.any():
            continue
        part = pd.DataFrame({"timestamp": T[keep], "value": vals[keep]})
        key = key if isinstance(key, tuple) else (key,)
        for c, k in zip(keys, key):
            part[c] = k
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["timestamp", *keys, "value"])
    out = pd.concat(parts, ignore_index=True)
    return out[["timestamp", *keys, "value"]].sort_values(["timestamp", *keys], kind="stable").reset_index(drop=True)


def rate(df, window, at=None, *, metric=None, start=None, end=None, step=None, compat: int = 2, **labels):
    """PromQL ``rate(metric[window])`` per series, at ``at`` / over ``start..end`` by ``step``
    (default: at the last sample). Counter resets and extrapolation as Prometheus."""
    return _range_function(df, window, at, start, end, step, metric, is_counter=True, is_rate=True,
                           compat=compat, labels=labels)


def increase(df, window, at=None, *, metric=None, start=None, end=None, step=None, compat: int = 2, **labels):
    """PromQL ``increase(metric[window])``: ``rate`` times the window."""
    return _range_function(df, window, at, start, end, step, metric, is_counter=True, is_rate=False,
                           compat=compat, labels=labels)


def delta(df, window, at=None, *, metric=None, start=None, end=None, step=None, compat: int = 2, **labels):
    """PromQL ``delta(gauge[window])`` (no reset handling)."""
    return _range_function(df, window, at, start, end, step, metric, is_counter=False, is_rate=False,
                           compat=compat, labels=labels)


def aggregate_series(df: pd.DataFrame, by=(), how: str = "sum", *, without=None) -> pd.DataFrame:
    """PromQL ``<how> by (labels)`` (or ``without``) per timestamp. ``how``: sum, avg (mean), min, max, count."""
    how = {"avg": "mean"}.get(how, how)
    if without is not None:
        drop = set(without) | {"metric", "value", "timestamp", "type", "family"}
        by = [c for c in series_columns(df) if c not in drop]
    by = [by] if isinstance(by, str) else list(by)
    if df.empty:
        return pd.DataFrame(columns=["timestamp", *by, "value"])
    for c in by:
        if c not in df.columns:
            df = df.assign(**{c: ""})
    g = df.groupby(["timestamp", *by], sort=True, dropna=False)["value"]
    out = g.agg(how).reset_index()
    return out[["timestamp", *by, "value"]]


def sum_by(df: pd.DataFrame, by=(), *, without=None) -> pd.DataFrame:
    """PromQL ``sum by (by...)``: one row per timestamp and label combination."""
    return aggregate_series(df, by, "sum", without=without)


def bucket_quantile(q: float, les, counts) -> float:
    """Prometheus's bucketQuantile for one histogram (upper bounds, cumulative counts)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    b = sorted(zip(les, counts), key=lambda x: x[0])
    if not b or not math.isinf(b[-1][0]):
        return math.nan
    coalesced: list[list[float]] = []
    for ub, c in b:                                         # coalesceBuckets
        if coalesced and coalesced[-1][0] == ub:
            coalesced[-1][1] += c
        else:
            coalesced.append([ub, c])
    mx = -math.inf                                          # ensureMonotonic
    for x in coalesced:
        if x[1] > mx:
            mx = x[1]
        elif x[1] < mx:
            x[1] = mx
    if len(coalesced) < 2:
        return math.nan
    obs = coalesced[-1][1]
    if obs == 0:
        return math.nan
    rank = q * obs
    n = len(coalesced) - 1
    i = next((k for k in range(n) if coalesced[k][1] >= rank), n)
    if i == n:
        return coalesced[-2][0]
    if i == 0 and coalesced[0][0] <= 0:
        return coalesced[0][0]
    start, end, count = 0.0, coalesced[i][0], coalesced[i][1]
    if i > 0:
        start = coalesced[i - 1][0]
        count -= coalesced[i - 1][1]
        rank -= coalesced[i - 1][1]
    return start + (end - start) * (rank / count)


def histogram_quantile(q: float, buckets: pd.DataFrame) -> pd.DataFrame:
    """PromQL ``histogram_quantile(q, buckets)``: ``buckets`` has an ``le`` column
    (usually ``sum_by(rate(...), ["le", ...])``). Groups by every other label."""
    if buckets.empty:
        return pd.DataFrame(columns=["timestamp", "value"])
    keys = [c for c in buckets.columns if c not in ("le", "value", "metric", "type", "family")]
    parts = []
    for key, g in buckets.groupby(keys, sort=True, dropna=False):
        les = pd.to_numeric(g["le"].astype(str).str.replace("Inf", "inf"), errors="coerce")
        good = ~les.isna()
        val = bucket_quantile(q, les[good].tolist(), g["value"][good].tolist())
        key = key if isinstance(key, tuple) else (key,)
        parts.append(dict(zip(keys, key), value=val))
    return pd.DataFrame(parts)[keys + ["value"]]


def reset_adjusted(df: pd.DataFrame) -> pd.DataFrame:
    """Counters made monotonic across resets (a process restart): after a drop,
    the value before the drop is added to every later sample, as rate() does."""
    keys = series_columns(df)
    out = []
    for _, g in df.groupby(keys, sort=False, dropna=False):
        g = g.sort_values("timestamp", kind="stable").copy()
        v = g["value"].to_numpy(dtype="float64")
        drops = np.concatenate([[0.0], np.where(v[1:] < v[:-1], v[:-1], 0.0)])
        g["value"] = v + np.cumsum(drops)
        out.append(g)
    return pd.concat(out).sort_index() if out else df.copy()


def resets(df: pd.DataFrame) -> pd.DataFrame:
    """PromQL ``resets()`` over all samples: number of value drops per series."""
    keys = series_columns(df)
    rows = []
    for key, g in df.groupby(keys, sort=True, dropna=False):
        v = g.sort_values("timestamp")["value"].to_numpy()
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(keys, key), value=int((v[1:] < v[:-1]).sum())))
    return pd.DataFrame(rows, columns=[*keys, "value"])


__all__ = ["select", "eval_times", "rate", "increase", "delta", "aggregate_series", "sum_by", "histogram_quantile",
           "bucket_quantile", "reset_adjusted", "resets", "series_columns", "label_columns"]
