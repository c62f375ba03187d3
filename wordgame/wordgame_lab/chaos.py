"""Chaos experiments against the wordgame server. Each returns a :class:`perfkit.lab.ChaosResult`:
the expectation, the measured numbers (``observed``), whether it held, and a frame of what happened.

Load comes from a small bounded thread pool of players (:class:`~wordgame_lab.players.Recorder`,
time-stamped per request), so error bursts and recovery can be measured to the millisecond.
Every experiment is bounded in time and in requests, and stops by itself. ``run_all_chaos`` runs
them all and returns a :class:`ChaosRun` (one summary row per experiment, and every result).
"""
from __future__ import annotations

import math
import signal
import time
import urllib.request
from dataclasses import dataclass

import pandas as pd

from perfkit.lab import ChaosResult, FaultProxy, cpu_starved, http_ok, latency_summary, port_open
from perfkit.metrics import parse_exposition

from .client import Client
from .frames import REQUESTS
from .players import Recorder
from .server import DEFAULT_WORDS, WordgameServer

__all__ = ["ChaosRun", "run_all_chaos", "kill9_under_load", "sigterm_under_load", "latency_injection",
           "fault_injection", "cpu_starvation", "abandon_soak", "metric_totals", "EXPERIMENTS"]

EXPERIMENTS = ("latency_injection", "fault_injection", "cpu_starvation", "abandon_soak", "kill9_under_load",
               "sigterm_under_load")


@dataclass(frozen=True)
class ChaosRun:
    """``summary``: one row per experiment (experiment, passed, expectation, observed as text, seconds);
    ``results``: every :class:`~perfkit.lab.ChaosResult`, in the same order."""
    summary: pd.DataFrame
    results: tuple[ChaosResult, ...]

    def result(self, experiment: str) -> ChaosResult:
        for r in self.results:
            if r.experiment == experiment:
                return r
        raise KeyError(experiment)


def metric_totals(admin_url: str, timeout: float = 2.0) -> dict[str, float]:
    """One /metrics scrape as {sample name: value summed over label sets}, plus ``5xx``: the
    server's 5xx answers (``wordgame_http_requests_total`` with a 5.. code)."""
    with urllib.request.urlopen(admin_url + "/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out: dict = {"5xx": 0.0}
    for row in parse_exposition(text, timestamp=0.0):
        out[row["metric"]] = out.get(row["metric"], 0.0) + row["value"]
        if row["metric"] == REQUESTS and str(row.get("code", "")).startswith("5"):
            out["5xx"] += row["value"]
    return out


def healthy(server, timeout: float = 2.0) -> bool:
    return server.alive and http_ok(server.admin_url + "/healthz", timeout)


def _result(frame: pd.DataFrame, experiment: str, expectation: str, observed: dict, passed,
            requests: pd.DataFrame | None = None) -> ChaosResult:
    return ChaosResult(experiment, expectation, observed, bool(passed), frame, requests)


def _load(url: str, seconds: float, threads: int, phase: str, **kw) -> pd.DataFrame:
    df = Recorder(url, threads, max_seconds=seconds + 5, **kw).run(seconds)
    df["phase"] = phase
    return df


# -- process chaos ------------------------------------------------------------
def kill9_under_load(server, *, load_seconds: float = 1.5, down_seconds: float = 0.5, after_seconds: float = 1.5,
                     threads: int = 4):
    """SIGKILL the server under load, restart it on the same ports; measure the outage.

    Expectation: service recovers (first success within 5 s of the restart). Games are in memory
    only, so every game started before the kill is lost: that is stated, and checked.
    """
    rec = Recorder(server.url, threads, max_seconds=load_seconds + down_seconds + after_seconds + 30).start()
    time.sleep(load_seconds)
    c = Client(server.url)
    survivor = c.new().json["id"]
    t_kill = time.monotonic()
    server.kill()
    time.sleep(down_seconds)
    t_restart = time.monotonic()
    server.restart()
    time.sleep(after_seconds)
    df = rec.stop()
    lost = c.guess(survivor, "E").status == 404
    c.close()
    post = df[df["t"] >= t_kill]
    fails = post[~post["ok"]]
    ok_after = post[post["ok"] & (post["t"] >= t_restart)]
    obs = {
        "errors": int(len(fails)),
        "error_burst_s": round(float(fails["t"].max() - fails["t"].min()), 3) if len(fails) else 0.0,
        "time_to_first_success_s": round(float(ok_after["t"].min() + ok_after["latency_s"].iloc[0] - t_kill), 3)
        if len(ok_after) else float("inf"),
        "down_s": down_seconds,
        "games_started_before_kill": len(rec.games_started),
        "game_lost_after_restart": bool(lost),
        "requests": int(len(df)),
    }
    return _result(df, "kill9_under_load", "after SIGKILL + restart the service answers again within 5 s of the "
                   "restart; every in-memory game is lost (404 after restart)", obs,
                   obs["time_to_first_success_s"] < down_seconds + 5 and lost)


def sigterm_under_load(server, *, load_seconds: float = 1.5, threads: int = 4, drain_delay: float = 1.0,
                       poll_ms: float = 100):
    """SIGTERM under keep-alive load, with a load balancer's behaviour: a health check polls /readyz
    every ``poll_ms`` and the players stop sending once it answers 503. The server is restarted with
    ``-drain-delay`` = ``drain_delay`` (> the poll interval) first when it runs without one.

    Expectation (the drain order: readiness fails first, the drain delay keeps serving with
    ``Connection: close``, then the listener closes and in-flight requests finish): no client-visible
    error at all, /readyz said 503 before the public listener closed, exit code 0.
    """
    if f"-drain-delay={drain_delay:g}s" not in server.args:
        server.args = [*server.args, f"-drain-delay={drain_delay:g}s"]
        server.restart()
    rec = Recorder(server.url, threads, max_seconds=load_seconds + drain_delay + 30).start()
    time.sleep(load_seconds)
    t_term = time.monotonic()
    server.signal(signal.SIGTERM)
    t_unready = t_closed = df = None
    t_end = t_term + drain_delay + 20
    while time.monotonic() < t_end and (t_unready is None or t_closed is None):
        now = time.monotonic()
        if t_unready is None and not http_ok(server.admin_url + "/readyz", 1.0):
            t_unready = now
            df = rec.stop()                          # the balancer stops routing to this server
        if t_closed is None and not port_open(server.url, 0.2):
            t_closed = now
        time.sleep(poll_ms / 1000)
    if df is None:
        df = rec.stop()
    try:
        rc = server.proc.wait(20)
    except Exception:                                # noqa: BLE001 - reported as no exit code
        rc = None
    t_exit = time.monotonic()
    inflight = df[(df["t"] < t_term) & (df["t"] + df["latency_s"] > t_term)]
    errors = df[~df["ok"]]
    after = df[df["t"] >= t_term]
    obs = {"drain_delay_s": drain_delay, "poll_ms": poll_ms, "in_flight_at_sigterm": int(len(inflight)),
           "failed_in_flight": int((~inflight["ok"]).sum()), "client_errors": int(len(errors)),
           "errors_by_type": errors["error"].value_counts().to_dict(),
           "requests_after_sigterm": int(len(after)),
           "unready_after_s": round(t_unready - t_term, 3) if t_unready is not None else None,
           "listener_closed_after_s": round(t_closed - t_term, 3) if t_closed is not None else None,
           "exit_code": rc, "shutdown_s": round(t_exit - t_term, 3), "requests": int(len(df))}
    server.stop()
    passed = (len(errors) == 0 and rc == 0 and t_unready is not None and t_closed is not None
              and t_unready < t_closed)
    return _result(df, "sigterm_under_load", f"with a {poll_ms:g} ms readiness poll and a {drain_delay:g} s drain "
                   "delay: /readyz fails before the listener closes, no client-visible error, exit code 0",
                   obs, passed)


# -- network chaos (through the fault proxy) ------------------------------------
def latency_injection(server, *, delay_ms: float = 50, load_seconds: float = 2.0, threads: int = 4,
                      tolerance: float = 0.5):
    """The same bounded load three times: direct, through the proxy with no delay, through the proxy
    adding ``delay_ms`` to every request (client to server chunk).

    Expectation: the client-visible p50 rises by the injected delay (within ``tolerance`` × delay,
    measured against the undelayed proxy so the proxy hop itself is not counted), with no errors.
    """
    frames = [_load(server.url, load_seconds, threads, "direct")]
    with FaultProxy(server.url, max_seconds=load_seconds + 30) as p0:
        frames.append(_load(p0.url, load_seconds, threads, "proxy"))
    with FaultProxy(server.url, delay_ms=delay_ms, max_seconds=load_seconds + 30) as p1:
        frames.append(_load(p1.url, load_seconds, threads, "proxy+delay"))
    df = pd.concat(frames, ignore_index=True)
    s = {ph: latency_summary(g) for ph, g in df.groupby("phase")}
    rise = s["proxy+delay"]["p50_ms"] - s["proxy"]["p50_ms"]
    obs = {"delay_ms": delay_ms, "p50_direct_ms": s["direct"]["p50_ms"], "p50_proxy_ms": s["proxy"]["p50_ms"],
           "p50_delayed_ms": s["proxy+delay"]["p50_ms"], "p50_rise_ms": round(rise, 3),
           "rise_vs_delay": round(rise / delay_ms, 3) if delay_ms else math.nan,
           "p99_delayed_ms": s["proxy+delay"]["p99_ms"],
           "rps_direct": s["direct"]["rps"], "rps_delayed": s["proxy+delay"]["rps"],
           "requests_delayed": s["proxy+delay"]["requests"], "errors": int(sum(v["errors"] for v in s.values()))}
    passed = (abs(rise - delay_ms) <= tolerance * delay_ms and obs["errors"] == 0
              and obs["requests_delayed"] >= 2 * threads)
    return _result(df, "latency_injection", f"client-visible p50 rises by the injected {delay_ms:g} ms "
                   f"(±{tolerance:.0%}) over the proxy baseline; no errors", obs, passed)


def fault_injection(server, *, drop_rate: float = 0.2, load_seconds: float = 2.0, threads: int = 4,
                    drop_at: str = "accept", seed: int = 1):
    """Drop ``drop_rate`` of the connections in the proxy (TCP reset); one connection per request.

    Expectation: the dropped connections surface as client errors at about the drop rate (within
    4 binomial standard deviations + 2 points, and one client error per dropped connection), and the
    server stays healthy: no 5xx (client side and in its own metrics), /healthz 200, direct requests work.
    """
    before = metric_totals(server.admin_url)
    with FaultProxy(server.url, drop_rate=drop_rate, drop_at=drop_at, max_seconds=load_seconds + 30,
                    seed=seed) as p:
        df = _load(p.url, load_seconds, threads, "faulty", fresh_connections=True)
    after = metric_totals(server.admin_url)
    st = p.stats
    s = latency_summary(df)
    n = max(s["requests"], 1)
    tol = 4 * math.sqrt(drop_rate * (1 - drop_rate) / n) + 0.02
    with Client(server.url, timeout=2) as c:
        direct_ok = c.new().status == 200
    obs = {"drop_rate": drop_rate, "requests": s["requests"], "client_errors": s["errors"],
           "client_error_rate": s["error_rate"], "tolerance": round(tol, 4),
           "proxy_connections": st.accepted, "proxy_dropped": st.dropped,
           "proxy_drop_ratio": round(st.dropped / max(st.accepted, 1), 4),
           "errors_by_type": df.loc[~df["ok"], "error"].value_counts().to_dict(),
           "client_5xx": s["server_5xx"], "server_5xx": int(after["5xx"] - before["5xx"]),
           "healthz_ok": healthy(server), "direct_request_ok": direct_ok,
           "p50_ms_ok_requests": round(float(df.loc[df["ok"], "latency_s"].median() * 1000), 3)}
    passed = (abs(s["error_rate"] - drop_rate) <= tol and abs(s["errors"] - st.dropped) <= threads
              and obs["client_5xx"] == 0 and obs["server_5xx"] == 0 and obs["healthz_ok"] and direct_ok
              and s["requests"] >= 50)
    return _result(df, "fault_injection", f"{drop_rate:.0%} of connections reset by the proxy surface as client "
                   f"errors at about that rate (one per drop); the server stays healthy: no 5xx, /healthz ok",
                   obs, passed)


# -- resource chaos -------------------------------------------------------------
def cpu_starvation(*, load_seconds: float = 2.0, threads: int = 6, words=None, max_p99_ms: float = 250.0):
    """The same bounded load against a normal server and one starved of CPU: ``GOMAXPROCS=1``
    and pinned to core 0 (``taskset -c 0``). The load generator runs in this process, unpinned.

    Expectation: starved, the server degrades but stays correct: no errors and no 5xx, throughput
    at least 30 % of normal, p99 stays below ``max_p99_ms``; the p99 ratio (starved / normal)
    is reported (it rises when the server, not the Python load generator, is the bottleneck).
    """
    words = words or DEFAULT_WORDS
    frames = []
    for phase, kw in (("normal", {}), ("starved", cpu_starved("0", gomaxprocs=1))):
        with WordgameServer(words, **kw) as srv:
            with Client(srv.url, timeout=2) as c:
                c.new()                                            # warm up
            frames.append(_load(srv.url, load_seconds, threads, phase))
            frames[-1]["server_5xx_metrics"] = metric_totals(srv.admin_url)["5xx"]
            frames[-1]["go_threads"] = metric_totals(srv.admin_url).get("go_threads", math.nan)
    df = pd.concat(frames, ignore_index=True)
    s = {ph: latency_summary(g) for ph, g in df.groupby("phase")}
    n, st = s["normal"], s["starved"]
    obs = {"p50_normal_ms": n["p50_ms"], "p50_starved_ms": st["p50_ms"], "p99_normal_ms": n["p99_ms"],
           "p99_starved_ms": st["p99_ms"], "p99_ratio": round(st["p99_ms"] / n["p99_ms"], 2) if n["p99_ms"] else None,
           "rps_normal": n["rps"], "rps_starved": st["rps"],
           "throughput_ratio": round(st["rps"] / n["rps"], 3) if n["rps"] else None,
           "errors_normal": n["errors"], "errors_starved": st["errors"],
           "server_5xx": int(df.groupby("phase")["server_5xx_metrics"].first().sum()),
           "requests": n["requests"] + st["requests"]}
    passed = (st["errors"] == 0 and n["errors"] == 0 and obs["server_5xx"] == 0
              and obs["throughput_ratio"] is not None and obs["throughput_ratio"] >= 0.3
              and st["p99_ms"] < max_p99_ms and st["requests"] >= 50)
    return _result(df, "cpu_starvation", f"GOMAXPROCS=1 on one core: p99 may rise (ratio reported) but stays "
                   f"< {max_p99_ms:g} ms, throughput >= 30 % of normal, no errors or 5xx", obs, passed)


def abandon_soak(*, short: bool = True, seconds: float | None = None, ttl_s: float | None = None,
                 threads: int = 4, abandon: float = 0.9, sample_every: float = 0.5, heap_tolerance: float | None = None,
                 words=None):
    """A server with a short idle-game TTL under load where most players abandon their game.

    ``short`` (CI): 6 s at TTL 1 s; otherwise 60 s at TTL 2 s (``seconds``/``ttl_s`` override).
    /metrics is sampled every ``sample_every`` s. Expectation: ``wordgame_games_active`` plateaus,
    bounded by new-game rate × (TTL + sweep interval) + players; its second-half mean is not above the
    first half's (after a TTL warm-up) by more than 25 %; the heap in use (``go_memstats_heap_inuse_bytes``)
    stays flat (second half vs first half within ``heap_tolerance``); ``wordgame_games_evicted_total`` grows.
    """
    seconds = float(seconds or (6.0 if short else 60.0))
    seconds = min(max(seconds, 2.0), 3600.0)
    ttl = float(ttl_s or (1.0 if short else 2.0))
    sweep = min(max(ttl / 4, 0.01), 60.0)                  # the server's default -evict-interval
    heap_tolerance = heap_tolerance if heap_tolerance is not None else (0.5 if short else 0.25)
    samples = []
    with WordgameServer(words or DEFAULT_WORDS, args=["-game-ttl", f"{int(ttl * 1000)}ms"]) as srv:
        rec = Recorder(srv.url, threads, max_seconds=seconds + 5, abandon=abandon).start()
        t0 = time.monotonic()
        for _ in range(int(seconds / sample_every) + 2):
            if time.monotonic() - t0 >= seconds:
                break
            m = metric_totals(srv.admin_url)
            samples.append({"t_s": round(time.monotonic() - t0, 3),
                            "games_active": m.get("wordgame_games_active", math.nan),
                            "heap_inuse_bytes": m.get("go_memstats_heap_inuse_bytes", math.nan),
                            "heap_alloc_bytes": m.get("go_memstats_heap_alloc_bytes", math.nan),
                            "games_started": m.get("wordgame_games_started_total", math.nan),
                            "games_evicted": m.get("wordgame_games_evicted_total", math.nan),
                            "games_finished": m.get("wordgame_games_finished_total", math.nan),
                            "server_5xx": m["5xx"]})
            time.sleep(max(0.0, sample_every - (time.monotonic() - t0) % sample_every))
        reqs = rec.stop()
        alive = healthy(srv)
    df = pd.DataFrame(samples)
    warm = ttl + sweep + 0.5
    steady = df[df["t_s"] >= warm]
    half = len(steady) // 2
    first, second = steady.iloc[:half], steady.iloc[half:]
    news = reqs[reqs["kind"] == "new"]
    per_s = news.groupby(((news["t"] - news["t"].min()) // 1).astype(int)).size() if len(news) else pd.Series([0])
    peak_rate = float(per_s.max())
    bound = peak_rate * (ttl + sweep) + threads
    act1, act2 = float(first["games_active"].mean()), float(second["games_active"].mean())
    heap1, heap2 = float(first["heap_inuse_bytes"].mean()), float(second["heap_inuse_bytes"].mean())
    ev = df["games_evicted"]
    obs = {"seconds": seconds, "ttl_s": ttl, "sweep_s": sweep, "samples": int(len(df)),
           "new_games_per_s_peak": round(peak_rate, 1), "active_bound": round(bound, 1),
           "active_max": float(steady["games_active"].max()) if len(steady) else math.nan,
           "active_mean_first": round(act1, 1), "active_mean_second": round(act2, 1),
           "heap_inuse_mb_first": round(heap1 / 2**20, 3), "heap_inuse_mb_second": round(heap2 / 2**20, 3),
           "heap_growth": round(heap2 / heap1 - 1, 3) if heap1 else math.nan,
           "games_started": float(df["games_started"].iloc[-1]) if len(df) else 0.0,
           "games_evicted": float(ev.iloc[-1]) if len(df) else 0.0,
           "evicted_in_second_half": float(ev.iloc[-1] - second["games_evicted"].iloc[0]) if len(second) else 0.0,
           "requests": int(len(reqs)), "errors": int((~reqs["ok"]).sum()) if len(reqs) else 0,
           "server_5xx": float(df["server_5xx"].iloc[-1]) if len(df) else 0.0, "healthz_ok": alive}
    passed = (half >= 2 and obs["active_max"] <= bound and act2 <= 1.25 * act1 + threads
              and abs(obs["heap_growth"]) <= heap_tolerance and obs["evicted_in_second_half"] > 0
              and obs["errors"] == 0 and obs["server_5xx"] == 0 and alive)
    return _result(df, "abandon_soak", f"with TTL {ttl:g} s and {abandon:.0%} of games abandoned, games_active "
                   f"plateaus <= peak new-game rate x (TTL + sweep) + players = {bound:.0f} and does not grow "
                   f"(2nd half <= 1.25 x 1st); heap in use flat (±{heap_tolerance:.0%}); evictions keep growing",
                   obs, passed, requests=reqs)


# -- all of them -------------------------------------------------------------------
def run_all_chaos(short: bool = True, *, words=None) -> ChaosRun:
    """Run every experiment (each on its own server where it needs one), in :data:`EXPERIMENTS` order.
    An experiment that raises is a failed result whose ``observed`` holds the exception."""
    words = words or DEFAULT_WORDS
    ls = 2.0 if short else 10.0
    results, rows = [], []

    def record(name, fn):
        t = time.monotonic()
        try:
            res = fn()
        except Exception as e:                                   # noqa: BLE001 - a row, not a crash
            res = ChaosResult(name, "(did not run)", {"exception": repr(e)}, False)
        results.append(res)
        rows.append({"experiment": res.experiment, "passed": res.passed, "expectation": res.expectation,
                     "observed": res.observed_text(), "seconds": round(time.monotonic() - t, 1)})

    with WordgameServer(words) as srv:
        record("latency_injection", lambda: latency_injection(srv, delay_ms=50, load_seconds=ls))
        record("fault_injection", lambda: fault_injection(srv, drop_rate=0.2, load_seconds=ls))
    record("cpu_starvation", lambda: cpu_starvation(load_seconds=ls, words=words))
    record("abandon_soak", lambda: abandon_soak(short=short, words=words))
    with WordgameServer(words) as srv:
        record("kill9_under_load", lambda: kill9_under_load(srv, load_seconds=1.5 if short else 5,
                                                            after_seconds=1.5 if short else 5))
    srv = WordgameServer(words).start()
    try:
        record("sigterm_under_load", lambda: sigterm_under_load(srv, load_seconds=1.5 if short else 5))
    finally:
        srv.stop()
    return ChaosRun(pd.DataFrame(rows), tuple(results))
