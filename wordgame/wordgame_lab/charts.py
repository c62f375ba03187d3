"""Charts of the wordgame campaign: a load test (client side next to server side), the capacity
search and the chaos experiments. Each returns a perfkit StaticFigure whose ``perfkit_data`` is the
DataFrame drawn."""
from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.lab import CapacityResult, ChaosResult, LocustResult
from perfkit.metrics import eval_times, histogram_quantile, increase, rate, seconds, sum_by
from perfkit.render.flame_static import new_figure

from .frames import DURATION, games, red, runtime

__all__ = ["client_history", "server_series", "latency_comparison", "load_overview", "capacity_chart",
           "capacity_comparison_chart", "chaos_chart"]

CLIENT_Q = {"p50": "50%", "p95": "95%", "p99": "99%"}


def client_history(load: LocustResult) -> pd.DataFrame:
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


def latency_comparison(load: LocustResult, scrape: pd.DataFrame) -> pd.DataFrame:
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


def load_overview(load: LocustResult, scrape: pd.DataFrame, *, window: str = "3s", title: str = "load test"):
    """Six panels: throughput, latency (client vs server), errors, active games, goroutines, heap and GC.
    ``perfkit_data``: the client, server and games series, one frame with a ``source`` column."""
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
    fig.perfkit_data = pd.concat([c.assign(source="client"), s.assign(source="server"), g.assign(source="games")],
                                 ignore_index=True)
    return fig


def capacity_chart(result: CapacityResult):
    """Throughput and p99 per load step (users, or the arrival rate of an open-model search), with the
    threshold and the knee."""
    steps = result.steps
    x = result.load_column
    fig = new_figure(9, 4)
    ax = fig.subplots()
    ax.plot(steps[x], steps["rps"], "o-", label="throughput (rps)")
    ax.set_xlabel("concurrent users" if x == "users" else "arrival rate (requests/s)")
    ax.set_ylabel("requests/s")
    ax2 = ax.twinx()
    ax2.plot(steps[x], steps["p99_ms"], "s--", color="C3", label="p99 (ms)")
    ax2.axhline(result.threshold_p99_ms, color="C3", lw=0.8, ls=":")
    ax2.set_ylabel("p99 ms")
    if result.knee is not None:
        ax.axvline(result.knee[x], color="grey", lw=0.8)
    ax.set_title(f"capacity search ({result.model} model)")
    fig.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.perfkit_data = steps
    return fig


def capacity_comparison_chart(comparison):
    """Both models against throughput: p99 of the closed model (Locust), of the open model from the
    intended send time and from the actual send (the gap is what a closed loop hides), the threshold
    and both knees; beside it, generator and server CPU per step."""
    closed, opened = comparison.closed.steps, comparison.open.steps
    fig = new_figure(12, 4)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    ax.plot(closed["rps"], closed["p99_ms"], "o-", color="C0", label="closed (Locust): p99")
    ax.plot(opened["rps"], opened["p99_ms"], "s-", color="C3", label="open: p99 from intended time")
    ax.plot(opened["rps"], opened["p99_send_ms"], "s:", color="C3", alpha=0.6, label="open: p99 from actual send")
    ax.axhline(comparison.closed.threshold_p99_ms, color="grey", lw=0.8, ls=":")
    for knee, color in ((comparison.closed_knee_rps, "C0"), (comparison.open_knee_rps, "C3")):
        if knee == knee:
            ax.axvline(knee, color=color, lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("achieved requests/s")
    ax.set_ylabel("p99 latency (ms)")
    ax.legend(fontsize=8)
    ax.set_title("closed vs open model")
    t = comparison.table
    for model, mk in (("closed", "o"), ("open", "s")):
        m = t[t["model"] == model]
        ax2.plot(m["rps"], m["generator_cpu_per_s"], mk + "-", label=f"{model}: generator")
        ax2.plot(m["rps"], m["server_cpu_per_s"], mk + "--", label=f"{model}: server")
    ax2.set_xlabel("achieved requests/s")
    ax2.set_ylabel("CPU seconds per second")
    ax2.legend(fontsize=7)
    ax2.set_title("who used the CPU")
    fig.tight_layout()
    fig.perfkit_data = t
    return fig


def chaos_chart(result: ChaosResult):
    """One experiment. Request-level frames: latency of every request over time (failures marked)
    and failures per 100 ms; gauge frames (soak): active games and heap over time."""
    frame = result.frame
    title = f"{result.experiment}: {'PASSED' if result.passed else 'FAILED'}"
    fig = new_figure(12, 3.6)
    fig.perfkit_data = frame if frame is not None else pd.DataFrame()
    if frame is None or frame.empty:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no data", ha="center", va="center")
        ax.set_title(title)
        return fig
    if "games_active" in frame:
        ax = fig.subplots()
        ax.plot(frame["t_s"], frame["games_active"], "o-", color="C2", label="active games")
        ax.set_xlabel("seconds")
        ax.set_ylabel("games")
        ax2 = ax.twinx()
        ax2.plot(frame["t_s"], frame["heap_inuse_bytes"] / 2**20, "s--", color="C5", label="heap in use (MiB)")
        ax2.set_ylabel("MiB")
        fig.legend(loc="upper left", fontsize=8)
    else:
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
        t0 = frame["t"].min()
        t = frame["t"] - t0
        phases = frame["phase"] if "phase" in frame else pd.Series(["run"] * len(frame), index=frame.index)
        for i, (ph, grp) in enumerate(frame.groupby(phases, sort=False)):
            ok = grp["ok"].astype(bool)
            ax.scatter(t[grp.index][ok], grp["latency_s"][ok] * 1e3, s=3, color=f"C{i}", label=f"{ph} ok")
            if (~ok).any():
                ax.scatter(t[grp.index][~ok], grp["latency_s"][~ok] * 1e3, s=12, marker="x", color="C3",
                           label=f"{ph} failed")
        ax.set_yscale("log")
        ax.set_xlabel("seconds")
        ax.set_ylabel("latency (ms)")
        ax.legend(fontsize=7, markerscale=3)
        bins = np.arange(0, float(t.max()) + 0.1, 0.1)
        fails = np.histogram(t[~frame["ok"].astype(bool)], bins=bins)[0] if len(bins) > 1 else []
        ax2.plot(bins[:-1], fails, color="C3")
        ax2.set_title("failures per 100 ms", fontsize=9)
        ax2.set_xlabel("seconds")
    fig.suptitle(title + "\n" + result.expectation, fontsize=9)
    fig.tight_layout()
    return fig
