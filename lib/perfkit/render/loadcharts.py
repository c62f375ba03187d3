"""Charts of a load test: client side (Locust) next to server side (scraped metrics)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.parse import seconds
from ..metrics.promql import eval_times, histogram_quantile, increase, rate, sum_by
from ..metrics.wordgame import DURATION, red, runtime
from .flame_static import new_figure

CLIENT_Q = {"p50": "50%", "p95": "95%", "p99": "99%"}


def client_history(load) -> pd.DataFrame:
    """Locust's aggregated history: t (s from start), users, rps, failures/s, p50/p95/p99 (ms)."""
    h = load.history
    if h is None or h.empty:
        return pd.DataFrame(columns=["t", "users", "rps", "failures_per_s", *CLIENT_Q])
    h = h[h["Name"] == "Aggregated"].copy()
    ts = h["Timestamp"]
    if pd.api.types.is_datetime64_any_dtype(ts):
        ts = (ts - pd.Timestamp(0)).dt.total_seconds()
    ts = ts.astype(float)
    out = pd.DataFrame({"timestamp": ts, "users": h["User Count"],
                        "rps": h["Requests/s"].astype(float), "failures_per_s": h["Failures/s"].astype(float)})
    for k, col in CLIENT_Q.items():
        out[k] = pd.to_numeric(h[col], errors="coerce")
    return out.reset_index(drop=True)


def server_series(scrape: pd.DataFrame, window: str = "3s", step: float = 1.0) -> pd.DataFrame:
    """Server RED (all routes), runtime gauges and GC rate per evaluation step."""
    at = eval_times(scrape, seconds(window), step=step)       # one grid for every series
    r = red(scrape, window, at=at, by=(), quantiles=(0.5, 0.95, 0.99))
    r = r.rename(columns={"p50": "p50_s", "p95": "p95_s", "p99": "p99_s"})
    rt = runtime(scrape).groupby("timestamp", as_index=False).sum(numeric_only=True)
    gc = sum_by(rate(scrape, window, at=at, metric="go_gc_duration_seconds_count"))
    gc = gc.rename(columns={"value": "gc_per_s"})[["timestamp", "gc_per_s"]] if len(gc) else \
        pd.DataFrame(columns=["timestamp", "gc_per_s"])
    out = r.merge(gc, on="timestamp", how="outer").sort_values("timestamp")
    rt = rt.sort_values("timestamp")
    if len(out) and len(rt):
        out = pd.merge_asof(out, rt, on="timestamp", direction="backward")
    return out.reset_index(drop=True)


def latency_comparison(load, scrape: pd.DataFrame) -> pd.DataFrame:
    """Whole-run p50/p95/p99 in ms as the client saw them and as the server measured them."""
    t = load.total
    ts = scrape["timestamp"]
    window = float(ts.max() - ts.min())
    inc = increase(scrape, f"{max(window, 1):g}s", at=float(ts.max()), metric=DURATION + "_bucket")
    buckets = sum_by(inc, ["le"])
    rows = []
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        hq = histogram_quantile(q, buckets)
        server = float(hq["value"].iloc[-1]) * 1e3 if len(hq) else np.nan
        rows.append({"quantile": name, "client_ms": float(t[CLIENT_Q[name]]), "server_ms": server})
    df = pd.DataFrame(rows)
    df["difference_ms"] = df["client_ms"] - df["server_ms"]
    return df


def load_overview(load, scrape: pd.DataFrame, *, window: str = "3s", title: str = "load test"):
    """Six panels: throughput, latency (client vs server), errors, active games, goroutines, heap and GC."""
    from ..metrics.wordgame import games
    c = client_history(load)
    s = server_series(scrape, window)
    g = games(scrape, window, at=eval_times(scrape, seconds(window), step=1.0))
    t0 = min([x for x in (c["timestamp"].min() if len(c) else None, s["timestamp"].min() if len(s) else None)
              if x is not None and not pd.isna(x)], default=0.0)
    fig = new_figure(14, 10)
    axes = fig.subplots(3, 2, sharex=True)
    ax = axes[0, 0]
    ax.plot(c["timestamp"] - t0, c["rps"], label="client (Locust)")
    ax.plot(s["timestamp"] - t0, s["requests_per_s"], label="server (rate of requests_total)")
    ax.set_ylabel("requests/s")
    ax.set_title("throughput")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for k, style in (("p50", ":"), ("p95", "--"), ("p99", "-")):
        ax.plot(c["timestamp"] - t0, c[k], "C0" + style, label=f"client {k}")
        ax.plot(s["timestamp"] - t0, s[f"{k}_s"] * 1e3, "C1" + style, label=f"server {k}")
    ax.set_ylabel("ms")
    ax.set_yscale("log")
    ax.set_title("latency: client vs server")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1, 0]
    ax.plot(c["timestamp"] - t0, c["failures_per_s"], label="client failures/s")
    ax.plot(s["timestamp"] - t0, s["errors_per_s"], label="server 5xx/s")
    ax.set_ylabel("per second")
    ax.set_title("errors")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(g["timestamp"] - t0, g["active"], color="C2")
    ax.set_ylabel("games")
    ax.set_title("active games")
    ax = axes[2, 0]
    if "goroutines" in s:
        ax.plot(s["timestamp"] - t0, s["goroutines"], color="C4")
    ax.set_ylabel("goroutines")
    ax.set_title("goroutines")
    ax.set_xlabel("seconds")
    ax = axes[2, 1]
    if "heap_alloc_bytes" in s:
        ax.plot(s["timestamp"] - t0, s["heap_alloc_bytes"] / 2**20, color="C5", label="heap alloc (MiB)")
    ax.set_ylabel("MiB")
    ax2 = ax.twinx()
    ax2.plot(s["timestamp"] - t0, s["gc_per_s"], color="C3", alpha=0.6, label="GC cycles/s")
    ax2.set_ylabel("GC/s")
    ax.set_title("heap and GC")
    ax.set_xlabel("seconds")
    fig.suptitle(title)
    fig.tight_layout()
    fig.perfkit_data = {"client": c, "server": s, "games": g}
    return fig


def capacity_chart(steps: pd.DataFrame, knee: dict):
    """Throughput and p99 per load step, with the threshold and the knee."""
    fig = new_figure(9, 4)
    ax = fig.subplots()
    ax.plot(steps["users"], steps["rps"], "o-", label="throughput (rps)")
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("requests/s")
    ax2 = ax.twinx()
    ax2.plot(steps["users"], steps["p99_ms"], "s--", color="C3", label="p99 (ms)")
    ax2.axhline(knee["threshold_p99_ms"], color="C3", lw=0.8, ls=":")
    ax2.set_ylabel("p99 ms")
    if knee.get("knee"):
        ax.axvline(knee["knee"]["users"], color="grey", lw=0.8)
    ax.set_title("capacity search")
    fig.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
