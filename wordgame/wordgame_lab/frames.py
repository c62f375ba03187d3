"""Ready-made RED, game and runtime frames for the wordgame server's metrics."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from perfkit.metrics import histogram_quantile, rate, select, sum_by

REQUESTS = "wordgame_http_requests_total"
DURATION = "wordgame_http_request_duration_seconds"
IN_FLIGHT = "wordgame_http_requests_in_flight"
STARTED = "wordgame_games_started_total"
FINISHED = "wordgame_games_finished_total"
GUESSES = "wordgame_guesses_total"
ACTIVE = "wordgame_games_active"
EVICTED = "wordgame_games_evicted_total"
ERROR_CODE = re.compile(r"5..")


def _wide(long: pd.DataFrame, by: list[str], name: str) -> pd.DataFrame:
    if long.empty:
        return pd.DataFrame(columns=["timestamp", *by, name])
    return long.rename(columns={"value": name})[["timestamp", *by, name]]


def red(df: pd.DataFrame, window="30s", *, step=None, by=("route",), quantiles=(0.5, 0.9, 0.99),
        at=None, compat: int = 2) -> pd.DataFrame:
    """Rate, errors and duration per ``by`` (default: route), evaluated every ``step``
    (default: at the last sample). Columns: timestamp, by..., requests_per_s,
    errors_per_s (5xx), error_ratio, p50/p90/p99 latency in seconds."""
    by = list(by)
    kw = dict(at=at, step=step, compat=compat)
    req = rate(df, window, metric=REQUESTS, **kw)
    out = _wide(sum_by(req, by), by, "requests_per_s")
    err = select(req, None, code=ERROR_CODE) if not req.empty else req
    e = _wide(sum_by(err, by), by, "errors_per_s")
    out = out.merge(e, on=["timestamp", *by], how="left")
    # float columns even when a side was empty (object dtype): 0/0 is NaN as in PromQL, never a ZeroDivisionError
    out["requests_per_s"] = out["requests_per_s"].astype(float)
    out["errors_per_s"] = out["errors_per_s"].astype(float).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["error_ratio"] = out["errors_per_s"] / out["requests_per_s"]
    buckets = sum_by(rate(df, window, metric=DURATION + "_bucket", **kw), ["le", *by])
    for q in quantiles:
        col = f"p{q * 100:g}".replace(".", "_")
        hq = histogram_quantile(q, buckets) if not buckets.empty else pd.DataFrame(columns=["timestamp", *by, "value"])
        out = out.merge(_wide(hq, by, col), on=["timestamp", *by], how="left")
    return out.sort_values(["timestamp", *by]).reset_index(drop=True)


def games(df: pd.DataFrame, window="30s", *, step=None, at=None, compat: int = 2) -> pd.DataFrame:
    """Game metrics per timestamp: started/won/lost/evicted per second, guesses per
    second by result (hit, miss, rejected), and the active-games gauge (last value
    at or before each evaluation time)."""
    kw = dict(at=at, step=step, compat=compat)
    started = _wide(sum_by(rate(df, window, metric=STARTED, **kw)), [], "started_per_s")
    cols = [started]
    fin = sum_by(rate(df, window, metric=FINISHED, **kw), ["result"])
    for res in ("won", "lost"):
        cols.append(_wide(fin[fin["result"] == res].drop(columns="result") if not fin.empty else fin, [],
                          f"{res}_per_s"))
    g = sum_by(rate(df, window, metric=GUESSES, **kw), ["result"])
    for res in ("hit", "miss", "rejected"):
        cols.append(_wide(g[g["result"] == res].drop(columns="result") if not g.empty else g, [],
                          f"guesses_{res}_per_s"))
    cols.append(_wide(sum_by(rate(df, window, metric=EVICTED, **kw)), [], "evicted_per_s"))
    out = cols[0]
    for c in cols[1:]:
        out = out.merge(c, on="timestamp", how="outer")
    act = select(df, ACTIVE).groupby("timestamp")["value"].sum().sort_index()
    if len(act) and len(out):
        idx = np.searchsorted(act.index.to_numpy(), out["timestamp"].to_numpy(), side="right") - 1
        vals = act.to_numpy()
        out["active"] = np.where(idx >= 0, vals[np.clip(idx, 0, None)], np.nan)
    else:
        out["active"] = np.nan
    return out.sort_values("timestamp").reset_index(drop=True)


def runtime(df: pd.DataFrame) -> pd.DataFrame:
    """Go runtime gauges per scrape: goroutines, heap_alloc_bytes, in_flight, up."""
    names = {"go_goroutines": "goroutines", "go_memstats_heap_alloc_bytes": "heap_alloc_bytes",
             IN_FLIGHT: "in_flight", "up": "up", "process_resident_memory_bytes": "rss_bytes"}
    sub = df[df["metric"].isin(list(names))]
    if sub.empty:
        return pd.DataFrame(columns=["timestamp", "instance", *names.values()])
    wide = sub.pivot_table(index=["timestamp", "instance"], columns="metric", values="value", aggfunc="sum")
    return wide.rename(columns=names).reset_index().rename_axis(columns=None)
