"""Contract: the documented API and rules. The original server passes these."""
from __future__ import annotations

import pytest

from helpers import find_game_with_miss, guess_ok, new_game
from wordgame_lab.model import FREQUENCY, UUID4_RE, GameModel

pytestmark = pytest.mark.contract

CORS_METHODS = "POST, GET, OPTIONS, PUT, DELETE"
CORS_HEADERS = "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization"


def test_new_game_shape(target, client):
    r = client.new()
    assert r.status == 200
    assert r.headers.get("content-type", "").startswith("application/json")
    assert r.headers.get("access-control-allow-origin") == "*"
    g = r.json
    assert UUID4_RE.match(g["id"]), g["id"]
    assert g["current"] and set(g["current"]) == {"_"}, g
    assert g["guesses_remaining"] == 6
    if target.word:
        assert g["current"] == "_" * len(target.word)


def test_new_game_ids_are_unique(client):
    ids = {new_game(client)["id"] for _ in range(30)}
    assert len(ids) == 30


@pytest.mark.parametrize("path", ["/new", "/guess"])
def test_cors_preflight(client, path):
    r = client.request("OPTIONS", path, headers={"Origin": "http://example.com",
                                                 "Access-Control-Request-Method": "POST"})
    assert 200 <= r.status < 300
    assert r.headers.get("access-control-allow-origin") == "*"
    assert r.headers.get("access-control-allow-methods") == CORS_METHODS
    assert r.headers.get("access-control-allow-headers") == CORS_HEADERS
    assert r.body == b""


def test_hit_reveals_every_position_and_is_free(target, client):
    for _ in range(10):
        g = new_game(client)
        for L in (target.word[0],) if target.word else FREQUENCY:
            st = guess_ok(client, g["id"], L.lower())       # case-insensitive
            if st["current"] != g["current"]:
                assert st["id"] == g["id"]
                assert st["guesses_remaining"] == g["guesses_remaining"], "a hit cost a guess"
                if target.word:
                    assert st["current"] == GameModel(target.word).guess(L).current
                else:
                    assert all((c == L) == (c != p) for c, p in zip(st["current"], g["current"]) if c != "_")
                again = guess_ok(client, g["id"], L)        # repeated hit: no penalty, no change
                assert again["current"] == st["current"]
                assert again["guesses_remaining"] == st["guesses_remaining"]
                return
            g = st
            if st["guesses_remaining"] <= 1:
                break
    pytest.fail("no hit found in 10 games")


def test_miss_costs_one_guess_every_time(target, client):
    found = find_game_with_miss(target, client)
    assert found, "no miss found"
    g, L, st = found
    assert st["current"] == g["current"]
    again = guess_ok(client, g["id"], L)           # repeating a wrong letter costs again
    assert again["guesses_remaining"] == st["guesses_remaining"] - 1


def _play(client, gid, letters):
    st = None
    for L in letters:
        st = guess_ok(client, gid, L)
        if "_" not in st["current"] or st["guesses_remaining"] == 0:
            return st
    return st


def test_win_returns_final_state_and_game_is_gone(target, client):
    for _ in range(1 if target.word else 30):
        g = new_game(client)
        letters = sorted(set(target.word), key=target.word.index) if target.word else FREQUENCY
        st = _play(client, g["id"], letters)
        if "_" not in st["current"]:
            assert st["guesses_remaining"] >= 1
            if target.word:
                assert st["current"] == target.word and st["guesses_remaining"] == 6
            r = client.guess(g["id"], "E")
            assert not r.ok, f"a won game still answers {r.status}"
            return
    pytest.skip("could not win a game without knowing the word")


def test_loss_returns_final_state_hides_word_and_game_is_gone(target, client):
    for _ in range(10):
        g = new_game(client)
        st = _play(client, g["id"], [c for c in reversed(FREQUENCY) if not target.word or c not in target.word])
        if st["guesses_remaining"] == 0:
            assert "_" in st["current"]
            assert set(st) >= {"id", "current", "guesses_remaining"}
            extra = {k: v for k, v in st.items() if k not in ("id", "current", "guesses_remaining")}
            if target.word:
                assert target.word not in str(extra), "the secret word was sent on a loss"
            assert not any(k.lower() in ("word", "secret", "answer", "solution") for k in extra), extra
            r = client.guess(g["id"], "E")
            assert not r.ok, f"a lost game still answers {r.status}"
            return
    pytest.fail("could not lose a game")
