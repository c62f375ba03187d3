"""Chaos experiments against the wordgame server. Each returns a :class:`perfkit.lab.ChaosResult`:
the expectation, the measured numbers (``observed``), whether it held, a one-line ``reason`` (the
failed checks with their figures, or every check when all held) and a frame of what happened.

Load comes from small bounded thread pools of players (:class:`~wordgame_lab.players.Recorder`,
time-stamped per request), so error bursts and recovery can be measured to the millisecond. Where an
experiment compares a baseline with a treatment, both run at the same time, paced alike, so whatever
else the machine does hits both; each runs until it has the requests its percentile needs, bounded in
time. Every expectation is stated from the mechanism: an allowance comes from the samples' own spread
(a bootstrap standard error) or from a named bound (timer granularity, GIL hand-off, the client's
timeout, the latency SLO), never from a guess. ``run_all_chaos`` runs them all and returns a
:class:`ChaosRun` (one summary row per experiment, and every result).
"""
from __future__ import annotations

import math
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass

import pandas as pd

from perfkit.errors import OptionError
from perfkit.lab import (ChaosResult, FaultProxy, chaos_verdict, cpu_starved, http_ok, latency_summary, median_shift,
                         port_open)
from perfkit.metrics import parse_exposition

from .client import Client
from .frames import REQUESTS
from .players import Recorder
from .server import DEFAULT_WORDS, WordgameServer, find_binary

__all__ = ["ChaosRun", "run_all_chaos", "kill9_under_load", "sigterm_under_load", "latency_injection",
           "fault_injection", "cpu_starvation", "abandon_soak", "metric_totals", "EXPERIMENTS", "TIMER_MS",
           "HANDOFF_MS", "SLO_LATENCY_MS", "FAST_STOP"]

EXPERIMENTS = ("latency_injection", "fault_injection", "cpu_starvation", "abandon_soak", "kill9_under_load",
               "sigterm_under_load")
TIMER_MS = 1.0                                   # asyncio's epoll waits are whole milliseconds, rounded up
HANDOFF_MS = sys.getswitchinterval() * 1000      # a woken Python thread waits at most this for the GIL
SLO_LATENCY_MS = 100.0                           # the latency SLO: 99 % of requests under 100 ms
SLO_LATENCY_TARGET = 0.99
SLI_ROUTES = ("/new", "/guess")
DURATION = "wordgame_http_request_duration_seconds"
# the servers these experiments start stop at once (no load balancer to drain for); older servers ignore it
FAST_STOP = {"WORDGAME_DRAIN_DELAY": "0s"}


@dataclass(frozen=True)
class ChaosRun:
    """``summary``: one row per experiment (experiment, passed, reason, expectation, observed as text,
    seconds);
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
    server's 5xx answers (``wordgame_http_requests_total`` with a 5.. code), and for the latency SLI
    (routes /new and /guess) ``slo_fast``, the requests served in under 100 ms (the histogram's
    ``le="0.1"`` bucket), and ``slo_total``, all of them."""
    with urllib.request.urlopen(admin_url + "/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out: dict = {"5xx": 0.0, "slo_fast": 0.0, "slo_total": 0.0}
    for row in parse_exposition(text, timestamp=0.0):
        out[row["metric"]] = out.get(row["metric"], 0.0) + row["value"]
        if row["metric"] == REQUESTS and str(row.get("code", "")).startswith("5"):
            out["5xx"] += row["value"]
        if row["metric"].startswith(DURATION) and row.get("route") in SLI_ROUTES:
            if row["metric"] == DURATION + "_count":
                out["slo_total"] += row["value"]
            elif row["metric"] == DURATION + "_bucket" and _le(row.get("le")) == SLO_LATENCY_MS / 1000:
                out["slo_fast"] += row["value"]
    return out


def _le(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def healthy(server, timeout: float = 2.0) -> bool:
    return server.alive and http_ok(server.admin_url + "/healthz", timeout)


def _result(frame: pd.DataFrame, experiment: str, expectation: str, observed: dict, passed,
            requests: pd.DataFrame | None = None, reason: str = "") -> ChaosResult:
    if not reason:
        reason = ("held" if passed else "did not hold") + ": " + ", ".join(
            f"{k}={v}" for k, v in observed.items() if not isinstance(v, dict))
    return ChaosResult(experiment, expectation, observed, bool(passed), frame, requests, reason)


def _checked(frame, experiment, expectation, observed, checks, requests=None) -> ChaosResult:
    passed, reason = chaos_verdict(checks)
    return _result(frame, experiment, expectation, observed, passed, requests, reason)


def _arms(urls: dict, threads: int, requests: int, max_seconds: float, **kw) -> pd.DataFrame:
    """Players against every url at the same time, ``requests`` each (bounded by ``max_seconds``);
    one frame, ``phase`` = the arm's name."""
    recs = {ph: Recorder(u, threads, max_seconds=max_seconds, max_requests=requests, seed=i + 1, **kw).start()
            for i, (ph, u) in enumerate(urls.items())}
    frames = []
    for ph, rec in recs.items():
        df = rec.finish(max_seconds + 5)
        df["phase"] = ph
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _ms(x: float) -> str:
    return f"{x:.1f} ms" if abs(x) >= 10 else f"{x:.2f} ms"


# -- process chaos ------------------------------------------------------------
def kill9_under_load(server, *, load_seconds: float = 1.5, down_seconds: float = 0.5, after_seconds: float = 1.5,
                     threads: int = 4):
    """SIGKILL the server under load, restart it on the same ports; measure the outage.

    Expectation: the kill is seen (client errors), and the players are served again as soon as the
    restarted server is ready: a player retries ``retry_s`` after a failed request, and a request that
    reached the new listener before it served waits at most the client's timeout, so the first success
    comes at most ``retry_s`` + timeout after readiness. Games are in memory only: a game started
    before the kill is gone (404) after it.
    """
    rec = Recorder(server.url, threads, max_seconds=load_seconds + down_seconds + after_seconds + 30).start()
    time.sleep(load_seconds)
    c = Client(server.url)
    survivor = c.new().json["id"]
    t_kill = time.monotonic()
    server.kill()
    t_dead = time.monotonic()                          # reaped: a request sent from now on needs the new one
    time.sleep(down_seconds)
    server.restart()                                   # returns once /readyz answers 200
    t_ready = time.monotonic()
    time.sleep(after_seconds)
    df = rec.stop()
    lost = c.guess(survivor, "E").status == 404
    c.close()
    post = df[df["t"] >= t_kill]
    fails = post[~post["ok"]]
    ok_after = post[post["ok"] & (post["t"] >= t_dead)]
    first_ok = float((ok_after["t"] + ok_after["latency_s"]).min()) if len(ok_after) else math.inf
    bound = rec.retry_s + rec.timeout
    obs = {
        "errors": int(len(fails)),
        "error_burst_s": round(float(fails["t"].max() - fails["t"].min()), 3) if len(fails) else 0.0,
        "time_to_first_success_s": round(first_ok - t_kill, 3),
        # a player can get through before the readiness poll returns (it observes later): that is 0, not negative
        "first_success_after_ready_s": round(max(0.0, first_ok - t_ready), 3),
        "restart_s": round(t_ready - t_kill - down_seconds, 3),
        "down_s": down_seconds,
        "games_started_before_kill": len(rec.games_started),
        "game_lost_after_restart": bool(lost),
        "requests": int(len(df)),
    }
    checks = [
        (obs["errors"] > 0, f"{obs['errors']} client errors after the kill (expected some: the kill was seen)"),
        (first_ok - t_ready <= bound, f"first success {obs['first_success_after_ready_s']:.3f} s after the "
         f"restarted server was ready (expected <= retry {rec.retry_s:g} s + client timeout {rec.timeout:g} s)"),
        (lost, "a game started before the kill " + ("is gone (404) after it" if lost else
                                                    "still exists after it (expected 404: games are in memory)")),
    ]
    return _checked(df, "kill9_under_load", f"after SIGKILL + restart the players are served again within retry "
                    f"+ client timeout ({bound:g} s) of readiness; every in-memory game is lost (404)", obs, checks)


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
def latency_injection(server, *, delay_ms: float = 50, requests: int = 240, threads: int = 6,
                      rate: float | None = None, max_seconds: float = 30.0):
    """Three arms at the same time, the same players paced alike (``rate`` requests/s each, default
    80 % of what a player can send when every request takes ``delay_ms``): direct, through a proxy
    adding nothing, through a proxy holding every response ``delay_ms`` (``per="request"``: once per
    request, at the response's first byte). Each arm runs until ``requests`` requests.

    Expectation: the proxy holds each answered request exactly once, never longer than asked plus the
    timer granularity and one GIL hand-off; the client-visible p50 rises over the undelayed proxy by
    the delay: within [d - 4 SE, d + overshoot + one GIL hand-off + 4 SE], SE the bootstrap standard
    error of the p50 difference (from both arms' spread), overshoot the proxy's measured mean hold
    beyond d, the hand-off the client thread's wake-up after the hold; no errors.
    """
    if delay_ms <= 0:
        raise OptionError("latency_injection", f"delay_ms must be > 0, not {delay_ms}")
    rate = rate or min(50.0, 800.0 / delay_ms)
    bound_s = min(max_seconds, 600.0)
    with FaultProxy(server.url, max_seconds=bound_s + 30) as p0, \
            FaultProxy(server.url, delay_ms=delay_ms, max_seconds=bound_s + 30) as p1:
        df = _arms({"direct": server.url, "proxy": p0.url, "proxy+delay": p1.url}, threads, requests, bound_s,
                   rate=rate)
    st = p1.stats
    s = {ph: latency_summary(g) for ph, g in df.groupby("phase")}
    ok = df[df["ok"]]
    lat = {ph: ok.loc[ok["phase"] == ph, "latency_s"].to_numpy() * 1000 for ph in s}
    rise, se = median_shift(lat["proxy"], lat["proxy+delay"])
    answered = int((df.loc[df["phase"] == "proxy+delay", "status"] > 0).sum())
    over = st.hold_overshoot_ms
    low, high = delay_ms - 4 * se, delay_ms + over + HANDOFF_MS + 4 * se
    enough = int(0.8 * requests)
    fewest = min(v["requests"] for v in s.values())
    errors = int(sum(v["errors"] for v in s.values()))
    obs = {"delay_ms": delay_ms, "p50_direct_ms": s["direct"]["p50_ms"], "p50_proxy_ms": s["proxy"]["p50_ms"],
           "p50_delayed_ms": s["proxy+delay"]["p50_ms"], "p50_rise_ms": round(rise, 3),
           "rise_se_ms": round(se, 3), "expected_low_ms": round(low, 3), "expected_high_ms": round(high, 3),
           "rise_vs_delay": round(rise / delay_ms, 3), "holds": st.delays, "holds_per_request":
           round(st.delays / answered, 3) if answered else math.nan, "hold_overshoot_ms": round(over, 3),
           "p99_delayed_ms": s["proxy+delay"]["p99_ms"], "rate_per_player": round(rate, 1),
           "rps_direct": s["direct"]["rps"], "rps_delayed": s["proxy+delay"]["rps"],
           "requests_delayed": s["proxy+delay"]["requests"], "requests_per_arm_min": fewest, "errors": errors}
    checks = [
        (errors == 0, f"{errors} errors in {len(df)} requests (expected 0)"),
        (fewest >= enough, f"{fewest} requests in the smallest arm (expected >= {enough})"),
        (st.delays == answered, f"{st.delays} holds for {answered} answered delayed requests (expected one each)"),
        (over <= TIMER_MS + HANDOFF_MS, f"holds overran by {_ms(over)} on average (expected <= timer "
         f"{TIMER_MS:g} ms + one GIL hand-off {HANDOFF_MS:g} ms)"),
        (low <= rise <= high, f"p50 rose {_ms(rise)} for {delay_ms:g} ms injected (expected {_ms(low)} to "
         f"{_ms(high)}: 4 SE = {_ms(4 * se)}, overshoot {_ms(over)}, hand-off {HANDOFF_MS:g} ms)"),
    ]
    return _checked(df, "latency_injection", f"a proxy holding each response {delay_ms:g} ms raises the client's "
                    f"p50 by {delay_ms:g} ms (within 4 bootstrap SE, + the hold's measured overshoot and one GIL "
                    f"hand-off) over an undelayed proxy run at the same time; one hold per request; no errors",
                    obs, checks)


def fault_injection(server, *, drop_rate: float = 0.2, requests: int = 400, threads: int = 4,
                    drop_at: str = "accept", seed: int = 1, max_seconds: float = 30.0):
    """The proxy drops ``drop_rate`` of the connections (TCP reset); one connection per request, until
    ``requests`` requests (bounded by ``max_seconds``).

    Expectation: the proxy's drops are Bernoulli per connection, so their share is within 4 binomial
    standard deviations of ``drop_rate`` (with enough connections that 4 SD <= drop_rate / 2); every
    dropped connection (or failed upstream connect) is exactly one client error; the server stays
    healthy: no 5xx (client side and in its own metrics), /healthz 200, a direct request works.
    """
    if not 0 < drop_rate < 1:
        raise OptionError("fault_injection", f"drop_rate must be in (0, 1), not {drop_rate}")
    before = metric_totals(server.admin_url)
    bound_s = min(max_seconds, 600.0)
    with FaultProxy(server.url, drop_rate=drop_rate, drop_at=drop_at, max_seconds=bound_s + 30, seed=seed) as p:
        df = Recorder(p.url, threads, max_seconds=bound_s, max_requests=requests,
                      fresh_connections=True).start().finish(bound_s + 5)
    df["phase"] = "faulty"
    after = metric_totals(server.admin_url)
    st = p.stats
    s = latency_summary(df)
    n = max(st.accepted, 1)
    share = st.dropped / n
    tol = 4 * math.sqrt(drop_rate * (1 - drop_rate) / n)
    n_min = math.ceil(64 * (1 - drop_rate) / drop_rate)
    with Client(server.url, timeout=2) as c:
        direct_ok = c.new().status == 200
    alive = healthy(server)
    expected_errors = st.dropped + st.upstream_errors
    obs = {"drop_rate": drop_rate, "requests": s["requests"], "client_errors": s["errors"],
           "client_error_rate": s["error_rate"], "tolerance": round(tol, 4), "connections_needed": n_min,
           "proxy_connections": st.accepted, "proxy_dropped": st.dropped, "proxy_drop_ratio": round(share, 4),
           "upstream_errors": st.upstream_errors,
           "errors_by_type": df.loc[~df["ok"], "error"].value_counts().to_dict(),
           "client_5xx": s["server_5xx"], "server_5xx": int(after["5xx"] - before["5xx"]),
           "healthz_ok": alive, "direct_request_ok": direct_ok,
           "p50_ms_ok_requests": round(float(df.loc[df["ok"], "latency_s"].median() * 1000), 3)}
    checks = [
        (st.accepted >= n_min, f"{st.accepted} connections (expected >= {n_min} for 4 SD <= drop rate / 2)"),
        (abs(share - drop_rate) <= tol, f"{share:.1%} of connections dropped (expected {drop_rate:.0%} "
         f"± {tol:.1%}, 4 binomial SD)"),
        (s["errors"] == expected_errors, f"{s['errors']} client errors for {st.dropped} drops + "
         f"{st.upstream_errors} failed upstream connects (expected equal)"),
        (obs["client_5xx"] == 0 and obs["server_5xx"] == 0, f"{obs['client_5xx']} 5xx seen by clients, "
         f"{obs['server_5xx']} counted by the server (expected 0)"),
        (alive and direct_ok, "the server " + ("stays healthy (/healthz 200, direct request 200)" if alive and
                                               direct_ok else "is unhealthy after the faults")),
    ]
    return _checked(df, "fault_injection", f"{drop_rate:.0%} of connections reset by the proxy (within 4 binomial "
                    f"SD) surface as exactly one client error each; the server stays healthy: no 5xx, /healthz ok",
                    obs, checks)


# -- resource chaos -------------------------------------------------------------
def cpu_starvation(*, requests: int = 720, threads: int = 6, rate: float = 40.0, words=None, binary=None,
                   max_seconds: float = 30.0):
    """Two servers at the same time, the same paced load on each (``threads`` players at ``rate``
    requests/s): a normal one and one starved of CPU, ``GOMAXPROCS=1`` and pinned to core 0
    (``taskset -c 0``). The players run in this process, unpinned; each arm runs until ``requests``.

    Expectation: the offered load costs a small share of one core (reported from the server's own CPU
    counter), so one P keeps up: the starved server's throughput is at least 90 % of the normal one's
    (requests answered in the middle of the window both arms ran; paced alike, both send the same), with no
    errors and no 5xx, and it meets the latency SLO by its own histogram: at least 99 % of its /new and
    /guess requests served in under 100 ms. The server's histogram, not the client's clock: the players
    are Python threads on a shared machine, and their own scheduling delays are not the server's. The
    client-side p99 of both arms and their ratio are reported.
    """
    words = words or DEFAULT_WORDS
    bound_s = min(max_seconds, 600.0)
    starve = cpu_starved("0", gomaxprocs=1)
    with WordgameServer(words, binary=binary, env=FAST_STOP) as normal, \
            WordgameServer(words, binary=binary, taskset=starve["taskset"], env={**FAST_STOP, **starve["env"]}) \
            as starved:
        srvs = {"normal": normal, "starved": starved}
        for srv in srvs.values():
            with Client(srv.url, timeout=2) as c:
                c.new()                                            # warm up
        m0 = {ph: metric_totals(srv.admin_url) for ph, srv in srvs.items()}
        df = _arms({ph: srv.url for ph, srv in srvs.items()}, threads, requests, bound_s, rate=rate)
        m1 = {ph: metric_totals(srv.admin_url) for ph, srv in srvs.items()}
    s = {ph: latency_summary(g) for ph, g in df.groupby("phase")}
    n, st = s["normal"], s["starved"]
    cpu = {ph: m1[ph].get("process_cpu_seconds_total", math.nan) - m0[ph].get("process_cpu_seconds_total", math.nan)
           for ph in srvs}
    span = float((df["t"] + df["latency_s"]).max() - df["t"].min()) or 1e-9
    # throughput in the middle 80 % of the window both arms ran in: at their ends players stop one by one
    # (each finishes its game after the request count is reached), so only the middle has every player
    a0 = df.groupby("phase")["t"].min().max()
    a1 = (df["t"] + df["latency_s"]).groupby(df["phase"]).max().min()
    w0, w1 = a0 + 0.1 * (a1 - a0), a1 - 0.1 * (a1 - a0)
    sent = df[(df["t"] >= w0) & (df["t"] + df["latency_s"] <= w1)]["phase"].value_counts()
    ratio = sent.get("starved", 0) / sent["normal"] if sent.get("normal", 0) else math.nan
    server_5xx = int(sum(m1[ph]["5xx"] - m0[ph]["5xx"] for ph in srvs))
    slo = {ph: (m1[ph]["slo_fast"] - m0[ph]["slo_fast"], m1[ph]["slo_total"] - m0[ph]["slo_total"]) for ph in srvs}
    fast = {ph: f / t if t else math.nan for ph, (f, t) in slo.items()}
    enough = int(0.8 * requests)
    obs = {"p50_normal_ms": n["p50_ms"], "p50_starved_ms": st["p50_ms"], "p99_normal_ms": n["p99_ms"],
           "p99_starved_ms": st["p99_ms"], "p99_ratio": round(st["p99_ms"] / n["p99_ms"], 2) if n["p99_ms"] else None,
           "rps_normal": n["rps"], "rps_starved": st["rps"], "throughput_ratio": round(float(ratio), 3),
           "starved_core_share": round(cpu["starved"] / span, 3), "normal_cpu_s": round(cpu["normal"], 3),
           "slo_fast_share_starved": round(fast["starved"], 4), "slo_fast_share_normal": round(fast["normal"], 4),
           "errors_normal": n["errors"], "errors_starved": st["errors"], "server_5xx": server_5xx,
           "requests": n["requests"] + st["requests"]}
    errors = n["errors"] + st["errors"]
    checks = [
        (errors == 0 and server_5xx == 0 and n["server_5xx"] + st["server_5xx"] == 0,
         f"{errors} client errors, {server_5xx} server 5xx (expected 0)"),
        (min(n["requests"], st["requests"]) >= enough, f"{min(n['requests'], st['requests'])} requests in the "
         f"smaller arm (expected >= {enough})"),
        (ratio >= 0.9, f"starved throughput {ratio:.0%} of normal at {obs['starved_core_share']:.0%} of its one "
         f"core (expected >= 90 %: one P keeps up with this load)"),
        (fast["starved"] >= SLO_LATENCY_TARGET, f"{fast['starved']:.2%} of the starved server's requests under "
         f"{SLO_LATENCY_MS:g} ms by its histogram (expected >= {SLO_LATENCY_TARGET:.0%}, the latency SLO; client "
         f"p99 {_ms(st['p99_ms'])}, normal {_ms(n['p99_ms'])})"),
    ]
    return _checked(df, "cpu_starvation", f"GOMAXPROCS=1 on one core, same paced load as a normal server at the "
                    f"same time: throughput >= 90 % of normal, >= {SLO_LATENCY_TARGET:.0%} of requests under "
                    f"{SLO_LATENCY_MS:g} ms by the server's histogram (latency SLO), no errors or 5xx; client p99 "
                    f"ratio reported", obs, checks)


def abandon_soak(*, short: bool = True, seconds: float | None = None, ttl_s: float | None = None,
                 threads: int = 4, abandon: float = 0.9, sample_every: float = 0.5, heap_tolerance: float | None = None,
                 words=None, binary=None):
    """A server with a short idle-game TTL under load where most players abandon their game.

    ``short`` (CI): 6 s at TTL 1 s; otherwise 60 s at TTL 2 s (``seconds``/``ttl_s`` override).
    /metrics is sampled every ``sample_every`` s. Expectation, from the eviction mechanism: a game
    still alive was touched within the last TTL + 2 sweep intervals (a late sweep skips at most one
    tick), and abandoned games are touched only around their start, so at every sample
    ``wordgame_games_active`` <= the games started in that window + one game in play per player
    (``active_bound``, from ``wordgame_games_started_total``; whatever the load does, a leak breaks
    it); the oldest idle game (when the server exports it) is at most TTL + 2 sweeps old; the heap in
    use (``go_memstats_heap_inuse_bytes``) stays flat: second-half mean / first-half mean within
    [1 / (1 + ``heap_tolerance``), 1 + ``heap_tolerance``] (short: 2x, the GC's own swing at GOGC=100;
    long: 1.25x); ``wordgame_games_evicted_total`` keeps growing; no errors.
    """
    seconds = float(seconds or (6.0 if short else 60.0))
    seconds = min(max(seconds, 2.0), 3600.0)
    ttl = float(ttl_s or (1.0 if short else 2.0))
    sweep = min(max(ttl / 4, 0.01), 60.0)                  # the server's default -evict-interval
    # GOGC=100: the heap in use swings between the live heap and twice it within each GC cycle, so the
    # means of a few samples (short) may differ by 2x either way; over a minute they average out
    heap_tolerance = heap_tolerance if heap_tolerance is not None else (1.0 if short else 0.25)
    samples = []
    with WordgameServer(words or DEFAULT_WORDS, args=["-game-ttl", f"{int(ttl * 1000)}ms"], binary=binary,
                        env=FAST_STOP) as srv:
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
                            "oldest_idle_s": m.get("wordgame_games_oldest_idle_seconds", math.nan),
                            "server_5xx": m["5xx"]})
            time.sleep(max(0.0, sample_every - (time.monotonic() - t0) % sample_every))
        reqs = rec.stop()
        alive = healthy(srv)
    df = pd.DataFrame(samples)
    window = ttl + 2 * sweep
    # games started in the window before each sample: the counter now minus its value at the last
    # sample at least ``window`` earlier (an earlier, smaller value: the bound only gets looser)
    earlier = [df.loc[df["t_s"] <= t - window, "games_started"] for t in df["t_s"]]
    df["active_bound"] = [row - (e.iloc[-1] if len(e) else 0.0) + threads
                          for row, e in zip(df["games_started"], earlier)]
    steady = df[df["t_s"] >= window + sample_every]
    half = len(steady) // 2
    first, second = steady.iloc[:half], steady.iloc[half:]
    heap1, heap2 = float(first["heap_inuse_bytes"].mean()), float(second["heap_inuse_bytes"].mean())
    ev = df["games_evicted"]
    over = steady[steady["games_active"] > steady["active_bound"]]
    news = reqs[reqs["kind"] == "new"]
    obs = {"seconds": seconds, "ttl_s": ttl, "sweep_s": sweep, "samples": int(len(df)),
           "steady_samples": int(len(steady)),
           "new_games_per_s": round(len(news) / max(float(news["t"].max() - news["t"].min()), 1e-9), 1)
           if len(news) > 1 else 0.0,
           "active_max": float(steady["games_active"].max()) if len(steady) else math.nan,
           "active_bound_min": float(steady["active_bound"].min()) if len(steady) else math.nan,
           "active_over_bound_max": round(float((steady["games_active"] / steady["active_bound"]).max()), 3)
           if len(steady) else math.nan,
           "active_mean_first": round(float(first["games_active"].mean()), 1),
           "active_mean_second": round(float(second["games_active"].mean()), 1),
           "heap_inuse_mb_first": round(heap1 / 2**20, 3), "heap_inuse_mb_second": round(heap2 / 2**20, 3),
           "heap_growth": round(heap2 / heap1 - 1, 3) if heap1 else math.nan,
           "games_started": float(df["games_started"].iloc[-1]) if len(df) else 0.0,
           "games_evicted": float(ev.iloc[-1]) if len(df) else 0.0,
           "evicted_in_second_half": float(ev.iloc[-1] - second["games_evicted"].iloc[0]) if len(second) else 0.0,
           "requests": int(len(reqs)), "errors": int((~reqs["ok"]).sum()) if len(reqs) else 0,
           "server_5xx": float(df["server_5xx"].iloc[-1]) if len(df) else 0.0, "healthz_ok": alive}
    oldest = float(steady["oldest_idle_s"].max()) if len(steady) else math.nan
    obs["oldest_idle_max_s"] = round(oldest, 3)
    worst = (steady["games_active"] - steady["active_bound"]).idxmax() if len(steady) else None
    checks = [
        (half >= 2, f"{len(steady)} samples after the first {window:g} s window (expected >= 4)"),
        (len(over) == 0, f"games_active within the games started in the last TTL + 2 sweeps ({window:g} s) + "
         f"{threads} players at {len(steady) - len(over)} of {len(steady)} samples"
         + (f" (worst: {df.loc[worst, 'games_active']:.0f} > {df.loc[worst, 'active_bound']:.0f} at "
            f"{df.loc[worst, 't_s']:.1f} s)" if worst is not None and len(over) else " (expected all)")),
        (1 / (1 + heap_tolerance) <= heap2 / heap1 <= 1 + heap_tolerance if heap1 else False,
         f"heap in use {obs['heap_inuse_mb_first']:.1f} then {obs['heap_inuse_mb_second']:.1f} MiB (x"
         f"{heap2 / heap1 if heap1 else math.nan:.2f}, expected x{1 / (1 + heap_tolerance):.2f} to "
         f"x{1 + heap_tolerance:.2f})"),
        (obs["evicted_in_second_half"] > 0, f"{obs['evicted_in_second_half']:.0f} games evicted in the 2nd half "
         f"(expected > 0)"),
        (obs["errors"] == 0 and obs["server_5xx"] == 0 and alive, f"{obs['errors']} errors, "
         f"{obs['server_5xx']:.0f} 5xx, /healthz {'ok' if alive else 'failing'} (expected 0, 0, ok)"),
    ]
    if not math.isnan(oldest):       # servers that export the oldest idle game's age
        checks.append((oldest <= window, f"oldest idle game at most {oldest:.2f} s (expected <= TTL + 2 "
                       f"sweeps = {window:g} s: a late sweep skips at most one tick)"))
    return _checked(df, "abandon_soak", f"with TTL {ttl:g} s and {abandon:.0%} of games abandoned, games_active "
                    f"stays within the games started in the last TTL + 2 sweeps ({window:g} s) + players at every "
                    f"sample; heap in use flat (within x{1 + heap_tolerance:g} either way); evictions keep growing", obs, checks,
                    requests=reqs)


# -- all of them -------------------------------------------------------------------
def run_all_chaos(short: bool = True, *, words=None) -> ChaosRun:
    """Run every experiment (each on its own server where it needs one), in :data:`EXPERIMENTS` order.
    ``short`` (CI): the request counts each percentile needs, about 20 s in all; otherwise 4 times as
    many requests and a 60 s soak. An experiment that raises is a failed result whose ``observed`` and
    ``reason`` hold the exception."""
    words = words or DEFAULT_WORDS
    binary = find_binary()                  # once: every server of the run is the same build
    k = 1 if short else 4
    results, rows = [], []

    def record(name, fn):
        t = time.monotonic()
        try:
            res = fn()
        except Exception as e:                                   # noqa: BLE001 - a row, not a crash
            res = ChaosResult(name, "(did not run)", {"exception": repr(e)}, False, reason=f"raised {e!r}")
        results.append(res)
        rows.append({"experiment": res.experiment, "passed": res.passed, "reason": res.reason,
                     "expectation": res.expectation, "observed": res.observed_text(),
                     "seconds": round(time.monotonic() - t, 1)})

    with WordgameServer(words, binary=binary, env=FAST_STOP) as srv:
        record("latency_injection", lambda: latency_injection(srv, delay_ms=50, requests=240 * k))
        record("fault_injection", lambda: fault_injection(srv, drop_rate=0.2, requests=400 * k))
    record("cpu_starvation", lambda: cpu_starvation(requests=720 * k, words=words, binary=binary))
    record("abandon_soak", lambda: abandon_soak(short=short, words=words, binary=binary))
    with WordgameServer(words, binary=binary, env=FAST_STOP) as srv:
        record("kill9_under_load", lambda: kill9_under_load(srv, load_seconds=1.5 if short else 5,
                                                            after_seconds=1.5 if short else 5))
    srv = WordgameServer(words, binary=binary).start()
    try:
        record("sigterm_under_load", lambda: sigterm_under_load(srv, load_seconds=1.5 if short else 5))
    finally:
        srv.stop()
    return ChaosRun(pd.DataFrame(rows), tuple(results))
