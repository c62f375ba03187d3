"""Concurrency: N parallel clients x M full games (runs last: it kills a racy server)."""
from __future__ import annotations

import time

import pytest

from helpers import finding
from wordgame_lab.concurrency import burst_new_games, run_concurrent_games

pytestmark = pytest.mark.hardening


def test_concurrent_games_stay_consistent(target):
    # first bursts of simultaneous new games (store writes overlap most), then full games. An unlocked map
    # only fails when two writes overlap, which a busy machine makes rarer: up to 5 bursts, 60 s in all.
    burst = {"requests": 0, "5xx": 0, "conn_errors": 0}
    deadline = time.monotonic() + 60
    for _ in range(5):
        one = burst_new_games(target.url, max(target.clients, 32), 100, max_seconds=20)
        burst = {k: burst[k] + one[k] for k in burst}
        if not target.alive():
            return                  # reported as "process died during ..." by the conftest hook
        if burst["5xx"] or burst["conn_errors"] or time.monotonic() > deadline:
            break
    res = run_concurrent_games(target.url, target.clients, target.games, word=target.word, max_seconds=60)
    if not target.alive():
        return
    problems = []
    if burst["5xx"] or burst["conn_errors"]:
        problems.append(f"burst of {burst['requests']} new games: {burst['5xx']} 5xx, "
                        f"{burst['conn_errors']} clients lost their connection")
    if res["5xx"]:
        problems.append(f"{res['5xx']} responses were 5xx")
    if res["conn_errors"]:
        problems.append(f"{res['conn_errors']} clients lost their connection")
    if res["errors"]:
        problems.append(f"first error: {res['errors'][0]}")
    if problems:
        finding(f"{target.clients} clients x {target.games} games ({res['requests']} requests): " +
                "; ".join(problems))
    assert res["games"] == target.clients * target.games, f"only {res['games']} games finished: {res}"
