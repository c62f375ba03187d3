"""Short Locust runs (single and 2-worker distributed) and the chaos experiments in short mode."""
from __future__ import annotations

import pytest

from perfkit.wordgame.chaos import kill9_under_load, sigterm_under_load
from perfkit.wordgame.load import run_load
from perfkit.wordgame.server import WordgameServer


@pytest.fixture(scope="module")
def server():
    with WordgameServer(args=["-game-ttl", "5s"]) as s:
        yield s


def test_locust_short_run(server):
    r = run_load(server.url, users=5, spawn_rate=5, duration=3, abandon=0.2, invalid=0.05)
    s = r.summary()
    assert s["requests"] > 50 and s["failures"] == 0, (s, r.failures)
    assert {"/new", "/guess", "Aggregated"} <= set(r.stats["Name"])
    assert len(r.history) >= 1 and "99%" in r.history.columns


def test_locust_distributed_two_workers(server):
    r = run_load(server.url, users=6, spawn_rate=6, duration=3, workers=2)
    s = r.summary()
    assert s["requests"] > 50 and s["failures"] == 0, (s, r.output[-1000:])


def test_chaos_kill9_and_restart():
    with WordgameServer() as s:
        df, v = kill9_under_load(s)
    assert v["passed"], v
    assert v["errors"] > 0 and len(df) > 50


def test_chaos_sigterm_no_failed_inflight():
    s = WordgameServer().start()
    df, v = sigterm_under_load(s)
    assert v["passed"], v
