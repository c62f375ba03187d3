"""Concurrency: N parallel clients x M full games (runs last: it kills a racy server)."""
from __future__ import annotations

import pytest

from helpers import finding
from perfkit.wordgame.concurrency import run_concurrent_games

pytestmark = pytest.mark.hardening


def test_concurrent_games_stay_consistent(target):
    res = run_concurrent_games(target.url, target.clients, target.games, word=target.word, max_seconds=60)
    if not target.alive():
        return                      # reported as "process died during ..." by the conftest hook
    problems = []
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
