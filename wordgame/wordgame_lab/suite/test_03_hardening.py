"""Hardening: one test per defect class of the original server (../shared/wordgame-api.md).

Each failing test produces one readable line. Ordered from harmless to the
ones most likely to kill the target (those live in later files).
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from helpers import find_game_with_miss, finding, guess_ok, new_game, short, single_json
from wordgame_lab.client import build_request, host_port, raw_exchange, raw_request, slow_client

pytestmark = pytest.mark.hardening


def _is_json_error(r) -> bool:
    if not r.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        doc = single_json(r.body)
    except ValueError:
        return False
    return isinstance(doc, dict)


def test_missing_game_is_404(target, client):
    """Unknown and finished games are a client error (404), not a server error."""
    problems = []
    r = client.guess(str(uuid.uuid4()), "E")
    if r.status != 404:
        problems.append(f"unknown id -> {r.status} {short(r.body)!r}")
    found = find_game_with_miss(target, client)
    if found:
        g, L, st = found
        while st["guesses_remaining"] > 0:
            st = guess_ok(client, g["id"], L)
        r = client.guess(g["id"], L)
        if r.status != 404:
            problems.append(f"finished game -> {r.status} {short(r.body)!r}")
    if problems:
        finding("wrong status for a missing game (expected 404): " + "; ".join(problems))


def test_error_bodies_are_json(target, client):
    """Every 4xx/5xx carries one JSON object (application/json), not plain text."""
    g = new_game(client)
    cases = {
        "unknown id": client.guess(str(uuid.uuid4()), "E"),
        "two-letter guess": client.guess(g["id"], "QZ"),
        "digit guess": client.guess(g["id"], "7"),
    }
    bad = [f"{name} -> {r.status} {r.headers.get('content-type', '-')} {short(r.body, 60)!r}"
           for name, r in cases.items() if not r.ok and not _is_json_error(r)]
    if bad:
        finding("error responses are not a JSON object: " + "; ".join(bad))


METHOD_CASES = [("PUT", "/new"), ("DELETE", "/new"), ("PATCH", "/new"), ("GET", "/guess"), ("PUT", "/guess"),
                ("DELETE", "/guess")]


def test_unsupported_methods_are_405(target):
    bad = []
    for method, path in METHOD_CASES:
        res = raw_request(target.url, method, path, body=b"")
        if res.count != 1:
            bad.append(f"{method} {path} -> {res.describe()}")
        elif res.responses[0][0] != 405:
            bad.append(f"{method} {path} -> {res.responses[0][0]}")
    if bad:
        finding("unsupported methods are not answered 405: " + "; ".join(bad))


BAD_BODIES = {
    "not JSON": b"this is not json",
    "empty body": b"",
    "empty guess": None,                 # filled in with a live id
    "guess is a number": None,
    "JSON array": b"[1, 2, 3]",
    "truncated JSON": b'{"id": "x", "gue',
    "missing id": b'{"guess": "e"}',
    "missing guess": None,
}


def test_exactly_one_response_per_bad_request(target, client):
    """A rejected request gets exactly one 4xx response with one JSON body (no EOF, no 5xx, no extra output)."""
    g = new_game(client)
    bodies = dict(BAD_BODIES)
    bodies["empty guess"] = ('{"id": "%s", "guess": ""}' % g["id"]).encode()
    bodies["guess is a number"] = ('{"id": "%s", "guess": 5}' % g["id"]).encode()
    bodies["missing guess"] = ('{"id": "%s"}' % g["id"]).encode()
    bad = []
    for name, body in bodies.items():
        res = raw_request(target.url, "POST", "/guess", body=body)
        if res.count != 1 or res.trailing:
            bad.append(f"{name}: {res.describe()}")
            continue
        status, headers, rbody = res.responses[0]
        if not 400 <= status < 500:
            bad.append(f"{name}: {status} {short(rbody, 50)!r}")
            continue
        try:
            single_json(rbody)
        except ValueError:
            bad.append(f"{name}: {status} with a body that is not one JSON document {short(rbody, 50)!r}")
    if bad:
        finding(f"{len(bad)}/{len(bodies)} bad requests did not get exactly one 4xx response: " + "; ".join(bad))


def test_rejected_guess_changes_nothing(target, client):
    """A multi-letter guess is rejected (4xx) and does not touch the game."""
    found = find_game_with_miss(target, client)
    assert found, "no miss letter found"
    g, L, st = found                       # L is a known miss; st is the state after one miss
    r = client.guess(g["id"], L + "Q" if L != "Q" else "QX")
    after = guess_ok(client, g["id"], L)   # a real miss: costs exactly one more
    expected = st["guesses_remaining"] - 1
    problems = []
    if r.ok:
        problems.append(f"two-letter guess accepted ({r.status})")
    if after["guesses_remaining"] != expected or after["current"] != st["current"]:
        problems.append(f"state changed: guesses_remaining {st['guesses_remaining']} -> "
                        f"{after['guesses_remaining']} after the rejected guess plus one miss (expected {expected})")
    if problems:
        finding(f"rejected two-letter guess ({r.status}) still applied its first letter: " + "; ".join(problems)
                if r.status >= 400 and len(problems) == 1 and "state changed" in problems[0]
                else "; ".join(problems))


def test_request_body_is_limited(target, client):
    """An 8 MiB body is refused (413/4xx or the connection cut), not read and processed."""
    g = new_game(client)
    size = 8 << 20
    head = ('{"id": "%s", "guess": "E", "pad": "' % g["id"]).encode()
    body = head + b"x" * (size - len(head) - 2) + b'"}'
    res = raw_exchange(target.url, build_request("POST", "/guess", "%s:%d" % host_port(target.url), body),
                       timeout=20)
    status = res.responses[0][0] if res.responses else None
    if status is not None and 200 <= status < 300:
        finding(f"a {size >> 20} MiB request body was read and processed ({status}): no body size limit")
    if status is not None and status >= 500:
        finding(f"a {size >> 20} MiB request body -> {status} (expected 413)")
    if status is None and "reset" not in res.error and "Broken" not in res.error:
        finding(f"a {size >> 20} MiB request body -> {res.describe()}")


def test_slow_clients_are_timed_out(target):
    """A client that stalls in the headers or in the body is disconnected by the server."""
    hp = "%s:%d" % host_port(target.url)
    cases = {
        "stalled headers": f"POST /guess HTTP/1.1\r\nHost: {hp}\r\nContent-Type: app".encode(),
        "stalled body": (f"POST /guess HTTP/1.1\r\nHost: {hp}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: 100\r\n\r\n" + '{"id": "').encode(),
    }
    results = {}

    def run(name, payload):
        results[name] = slow_client(target.url, payload, target.slow_timeout + 2)
    threads = [threading.Thread(target=run, args=item) for item in cases.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(target.slow_timeout + 10)
    held = [f"{name} held open {secs:.0f}s" for name, (closed, secs, _) in results.items()
            if not closed or secs > target.slow_timeout]
    if held:
        finding(f"no timeout for slow clients (limit {target.slow_timeout:g}s): " + "; ".join(held))


def test_idle_games_are_evicted(target, client):
    """A game left alone longer than the TTL is gone (unbounded growth otherwise)."""
    if not target.ttl:
        pytest.skip("the target's idle-game TTL is unknown (pass --wordgame-ttl SECONDS)")
    g = new_game(client)
    wait = target.ttl * 2 + 1
    time.sleep(wait)
    r = client.guess(g["id"], "E")
    if r.ok:
        finding(f"an idle game is still playable after {wait:g}s (TTL {target.ttl:g}s): no eviction")


def test_health_and_metrics(target):
    import requests
    if not target.admin_url:
        pytest.skip("no admin URL (pass --wordgame-admin-url)")
    problems = []
    for path in ("/healthz", "/readyz", "/metrics"):
        try:
            r = requests.get(target.admin_url + path, timeout=5)
            if r.status_code != 200:
                problems.append(f"{path} -> {r.status_code}")
        except requests.RequestException as e:
            problems.append(f"{path} -> {type(e).__name__}")
    if problems:
        finding("observability endpoints missing: " + "; ".join(problems))
