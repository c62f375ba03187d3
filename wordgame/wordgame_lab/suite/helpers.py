"""Shared helpers of the black-box suite (plain functions, no fixtures)."""
from __future__ import annotations

import json

import pytest

from wordgame_lab.model import FREQUENCY


def finding(msg: str):
    """Fail with one readable line (no traceback): the finding."""
    pytest.fail(msg, pytrace=False)


def new_game(client) -> dict:
    r = client.new()
    assert r.status == 200, f"POST /new -> {r.status} {r.body[:200]!r}"
    return r.json


def guess_ok(client, gid, letter) -> dict:
    r = client.guess(gid, letter)
    assert r.status == 200, f"guess {letter!r} -> {r.status} {r.body[:200]!r}"
    return r.json


def miss_letter(target, current: str, tried=()) -> str | None:
    """A letter that is certainly a miss (known word) or a likely one (rare letters first)."""
    if target.word:
        return next((c for c in reversed(FREQUENCY) if c not in target.word and c not in tried), None)
    return next((c for c in reversed(FREQUENCY) if c not in current and c not in tried), None)


def find_game_with_miss(target, client, attempts: int = 10):
    """(game, letter, state after the miss) for a letter that cost one guess."""
    for _ in range(attempts):
        g = new_game(client)
        for L in reversed(FREQUENCY):
            if target.word and L in target.word:
                continue
            st = guess_ok(client, g["id"], L)
            if st["guesses_remaining"] == g["guesses_remaining"] - 1:
                return g, L, st
            g = st
            if "_" not in st["current"]:
                break
    return None


def short(body: bytes, n: int = 80) -> str:
    s = body.decode("utf-8", "replace").replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "…"


def single_json(body: bytes):
    """The body parsed as exactly one JSON document, or raises ValueError."""
    return json.loads(body.decode("utf-8"))
