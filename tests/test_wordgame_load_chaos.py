"""Short Locust runs (single and 2-worker distributed), the fault proxy, and every chaos experiment in
short mode (run once through ``run_all_chaos(short=True)``, then checked one by one)."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from perfkit.errors import PerfkitError
from perfkit.lab import ChaosResult, FaultProxy, run_locust
from wordgame_lab import Client, WordgameServer, run_all_chaos, run_load

pytestmark = pytest.mark.slow     # make check leaves these out

EXPERIMENTS = ("latency_injection", "fault_injection", "cpu_starvation", "abandon_soak", "kill9_under_load",
               "sigterm_under_load")


@pytest.fixture(scope="module")
def server():
    with WordgameServer(args=["-game-ttl", "5s"]) as s:
        yield s


@pytest.fixture(scope="module")
def chaos():
    t = time.monotonic()
    run = run_all_chaos(short=True)
    return run, time.monotonic() - t


def test_locust_short_run(server):
    r = run_load(server.url, users=5, spawn_rate=5, duration=3, abandon=0.2, invalid=0.05)
    s = r.summary()
    assert s["requests"] > 50 and s["failures"] == 0, (s, r.failures)
    assert {"/new", "/guess", "Aggregated"} <= set(r.stats["Name"])
    assert len(r.history) >= 1 and "99%" in r.history.columns
    # one standalone process, its CPU measured (FastHttpUser: a real share of a core at 5 users, no think time)
    assert list(r.processes["role"]) == ["standalone", "machine"] and r.processes.at[0, "cpu_s"] > 0.2, r.processes
    assert 0 < r.summary()["generator_cpu_per_s"] <= 1.1


def test_run_locust_refuses_a_missing_locustfile(server, tmp_path):
    with pytest.raises(PerfkitError, match="no such locustfile"):
        run_locust(tmp_path / "missing.py", server.url)


def test_locust_distributed_two_workers(server):
    r = run_load(server.url, users=6, spawn_rate=6, duration=3, workers=2)
    s = r.summary()
    assert s["requests"] > 50 and s["failures"] == 0, (s, r.output[-1000:])
    p = r.processes[r.processes["role"] != "machine"]
    assert list(p["role"]) == ["master", "worker", "worker"] and (p["cpu_s"] > 0).all(), r.processes


def test_proxy_delay_drop_and_bounds(server):
    with FaultProxy(server.url, delay_ms=30, per="connection", max_seconds=10) as p, Client(p.url, timeout=3) as c:
        first, second = c.new().elapsed, c.new().elapsed          # keep-alive: only the connect is delayed
    assert first >= 0.03 and second < 0.03, (first, second)
    with FaultProxy(server.url, drop_rate=1.0, drop_at="response", max_seconds=10) as p:
        with Client(p.url, timeout=3) as c, pytest.raises(Exception):
            c.new()
    assert p.stats.dropped == 1 and p.stats.bytes_up > 0 and p.stats.bytes_down == 0
    t = time.monotonic()
    p = FaultProxy(server.url, max_seconds=0.3, max_connections=1).start()
    with Client(p.url, timeout=3) as c:
        assert c.new().status == 200
    with Client(p.url, timeout=3) as c, pytest.raises(Exception):
        c.new()                                                    # over max_connections: closed at once
    p._thread.join(5)                                              # stops by itself at max_seconds
    assert not p.running and time.monotonic() - t < 5 and p.stats.refused_over_limit == 1
    with pytest.raises(ValueError):
        FaultProxy("http://10.0.0.1:80")                           # loopback only


def test_run_all_chaos_summary(chaos):
    run, total_s = chaos
    summary = run.summary
    assert list(summary["experiment"]) == list(EXPERIMENTS)
    assert [r.experiment for r in run.results] == list(EXPERIMENTS)
    assert {"experiment", "passed", "expectation", "observed", "seconds"} <= set(summary.columns)
    assert not summary.attrs
    for r in run.results:
        assert isinstance(r, ChaosResult) and r.expectation and isinstance(r.observed, dict)
        assert not any(isinstance(v, pd.DataFrame) for v in r.observed.values())
    assert summary["passed"].all(), summary.to_string()
    assert total_s < 70, summary[["experiment", "seconds"]]


def _get(chaos, name):
    r = chaos[0].result(name)
    assert r.passed, r
    return r.frame, r.observed


def test_chaos_latency_injection(chaos):
    df, o = _get(chaos, "latency_injection")
    assert set(df["phase"]) == {"direct", "proxy", "proxy+delay"}
    delayed = df[df["phase"] == "proxy+delay"]
    base = df[df["phase"] == "proxy"]
    rise_ms = (delayed["latency_s"].median() - base["latency_s"].median()) * 1000
    assert 0.5 * o["delay_ms"] <= rise_ms <= 1.5 * o["delay_ms"], rise_ms
    assert len(delayed) >= 20 and delayed["ok"].all()


def test_chaos_fault_injection(chaos):
    df, o = _get(chaos, "fault_injection")
    err_rate = (~df["ok"]).mean()
    assert abs(err_rate - o["drop_rate"]) <= 0.1, err_rate
    assert o["client_errors"] == o["proxy_dropped"] or abs(o["client_errors"] - o["proxy_dropped"]) <= 4
    assert o["server_5xx"] == 0 and o["healthz_ok"] and len(df) >= 50


def test_chaos_cpu_starvation(chaos):
    df, o = _get(chaos, "cpu_starvation")
    assert set(df["phase"]) == {"normal", "starved"}
    assert df["ok"].all() and o["rps_normal"] > 0 and o["rps_starved"] > 0
    assert o["p99_starved_ms"] > 0 and o["p99_ratio"] is not None


def test_chaos_abandon_soak(chaos):
    df, o = _get(chaos, "abandon_soak")
    reqs = chaos[0].result("abandon_soak").requests
    assert len(reqs) == o["requests"] and reqs["ok"].all()
    assert len(df) >= 8 and df["t_s"].is_monotonic_increasing
    assert df["games_evicted"].iloc[-1] > 0 and df["games_evicted"].is_monotonic_increasing
    assert df["games_active"].max() <= o["active_bound"]
    # without eviction the active gauge would be close to games started minus finished
    assert df["games_active"].iloc[-1] < 0.5 * (df["games_started"].iloc[-1] - df["games_finished"].iloc[-1])
    assert df["heap_inuse_bytes"].gt(0).all()


def test_chaos_kill9_and_restart(chaos):
    df, o = _get(chaos, "kill9_under_load")
    assert o["errors"] > 0 and len(df) > 50 and o["game_lost_after_restart"]


def test_chaos_sigterm_no_failed_inflight(chaos):
    df, o = _get(chaos, "sigterm_under_load")
    assert o["exit_code"] == 0 and o["failed_in_flight"] == 0 and len(df) > 20
