"""Short Locust runs (single and 2-worker distributed) and every chaos experiment in short mode (run
once through ``run_all_chaos(short=True)``, then checked one by one). The fault proxy: test_fault_proxy.py."""
from __future__ import annotations

import sys
import time

import pandas as pd
import pytest

from perfkit.errors import PerfkitError
from perfkit.lab import ChaosResult, run_locust
from wordgame_lab import WordgameServer, run_all_chaos, run_load

pytestmark = [pytest.mark.slow, pytest.mark.serial]     # make check leaves these out; latency claims: run alone

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


def test_run_all_chaos_summary(chaos):
    run, total_s = chaos
    summary = run.summary
    assert list(summary["experiment"]) == list(EXPERIMENTS)
    assert [r.experiment for r in run.results] == list(EXPERIMENTS)
    assert {"experiment", "passed", "reason", "expectation", "observed", "seconds"} <= set(summary.columns)
    assert not summary.attrs
    for r in run.results:
        assert isinstance(r, ChaosResult) and r.expectation and isinstance(r.observed, dict)
        assert not any(isinstance(v, pd.DataFrame) for v in r.observed.values())
        assert r.reason and "\n" not in r.reason
    assert summary["passed"].all(), summary.to_string()
    assert total_s < 70, summary[["experiment", "seconds"]]


def _get(chaos, name):
    r = chaos[0].result(name)
    assert r.passed, r
    return r.frame, r.observed


def test_chaos_latency_injection(chaos):
    df, o = _get(chaos, "latency_injection")
    assert set(df["phase"]) == {"direct", "proxy", "proxy+delay"} and df["ok"].all()
    delayed = df[df["phase"] == "proxy+delay"]
    base = df[df["phase"] == "proxy"]
    d = o["delay_ms"]
    assert (delayed["latency_s"] * 1000 >= d).all()                 # a hold never ends early
    rise_ms = (delayed["latency_s"].median() - base["latency_s"].median()) * 1000
    # one hold per request: d, plus the timer's 1 ms and a GIL hand-off or two; a second hold would add d
    assert d - 1 <= rise_ms <= d + 1 + 2 * 1000 * sys.getswitchinterval() + 2, rise_ms
    assert o["holds"] == len(delayed)
    # the arms are paced alike: the same number of requests in about the same time, at the same time
    assert len(delayed) >= 0.8 * len(base) and len(base) >= 100
    assert abs(delayed["t"].min() - base["t"].min()) < 1.0


def test_chaos_fault_injection(chaos):
    df, o = _get(chaos, "fault_injection")
    errors = int((~df["ok"]).sum())
    assert errors == o["proxy_dropped"] + o["upstream_errors"]        # one client error per dropped connection
    assert set(df.loc[~df["ok"], "status"]) <= {0}                    # errors are dropped connections, not 5xx
    n = o["proxy_connections"]
    assert abs(o["proxy_dropped"] / n - o["drop_rate"]) <= 4 * (0.2 * 0.8 / n) ** 0.5
    assert o["server_5xx"] == 0 and o["healthz_ok"] and len(df) >= 256


def test_chaos_cpu_starvation(chaos):
    df, o = _get(chaos, "cpu_starvation")
    assert set(df["phase"]) == {"normal", "starved"}
    assert df["ok"].all() and o["rps_normal"] > 0 and o["rps_starved"] > 0
    counts = df["phase"].value_counts()
    assert counts["starved"] >= 0.9 * counts["normal"]               # same paced load on both
    p50 = df[df["phase"] == "starved"]["latency_s"].median() * 1000
    assert 0 < p50 < 100 and o["p99_ratio"] is not None


def test_chaos_abandon_soak(chaos):
    df, o = _get(chaos, "abandon_soak")
    reqs = chaos[0].result("abandon_soak").requests
    assert len(reqs) == o["requests"] and reqs["ok"].all()
    assert len(df) >= 8 and df["t_s"].is_monotonic_increasing
    assert df["games_evicted"].iloc[-1] > 0 and df["games_evicted"].is_monotonic_increasing
    window = o["ttl_s"] + 2 * o["sweep_s"]
    for _, row in df[df["t_s"] >= window + 0.5].iterrows():          # live games were started in the window
        before = df.loc[df["t_s"] <= row["t_s"] - window, "games_started"].iloc[-1]
        assert row["games_active"] <= row["games_started"] - before + 4, row
    # without eviction the active gauge would be close to games started minus finished
    assert df["games_active"].iloc[-1] < 0.5 * (df["games_started"].iloc[-1] - df["games_finished"].iloc[-1])
    assert df["heap_inuse_bytes"].gt(0).all()


def test_chaos_kill9_and_restart(chaos):
    df, o = _get(chaos, "kill9_under_load")
    assert o["errors"] > 0 and len(df) > 50 and o["game_lost_after_restart"]
    assert 0 <= o["first_success_after_ready_s"] <= 2.01
    # the errors counted from the kill on, plus at most one request in flight per player (4) at the kill
    assert 0 <= (~df["ok"]).sum() - o["errors"] <= 4


def test_chaos_sigterm_no_failed_inflight(chaos):
    df, o = _get(chaos, "sigterm_under_load")
    # the drain order: readiness fails at once, the listener closes only after the drain delay,
    # and players that stop on the 503 see no error at all
    assert o["exit_code"] == 0 and o["failed_in_flight"] == 0 and o["client_errors"] == 0 and len(df) > 20, o
    assert o["unready_after_s"] < o["poll_ms"] / 1000 + 0.5 <= o["drain_delay_s"] <= o["listener_closed_after_s"], o
