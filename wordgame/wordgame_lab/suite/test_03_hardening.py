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
from wordgame_lab.client import Client, build_request, host_port, raw_exchange, raw_request, slow_client

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


# -- issue 14: bounded memory, admin apart, honest timeouts, error messages ---------------
CAPACITY_PROBE = 10_000     # at most this many games are created to find the limit


def test_new_past_capacity_is_503_with_retry_after(target):
    """Past its maximum of live games /new answers 503 with a JSON error and an integer Retry-After.

    Needs a small maximum: the target's (--wordgame-max-games), or, when the suite started our own
    server, a second one of ours with -max-games 5."""
    own = None
    url, limit = target.url, target.max_games
    if limit is None and target.server is not None:
        from wordgame_lab.server import WordgameServer
        limit = 5
        own = WordgameServer(words=[target.word or "GOPHER"], args=["-max-games", str(limit)]).start()
        url = own.url
    if limit is None:
        pytest.skip("the target's maximum of live games is unknown (pass --wordgame-max-games N)")
    if limit > CAPACITY_PROBE:
        pytest.skip(f"the target's maximum ({limit}) is too large to fill in a test")
    try:
        with Client(url, timeout=5) as c:
            rejected = None
            for _ in range(limit + 1):
                r = c.new()
                if r.status != 200:
                    rejected = r
                    break
            metrics = None
            if own is not None:
                import requests
                metrics = requests.get(own.admin_url + "/metrics", timeout=5).text
    finally:
        if own is not None:
            own.stop()
    if rejected is None:
        finding(f"{limit + 1} games started with a maximum of {limit}: no bound on live games")
    problems = []
    if rejected.status != 503:
        problems.append(f"status {rejected.status} (expected 503)")
    if not _is_json_error(rejected):
        problems.append(f"body {short(rejected.body, 60)!r} is not a JSON error")
    ra = rejected.headers.get("retry-after", "")
    if not ra.isdigit() or int(ra) < 1:
        problems.append(f"Retry-After {ra!r} (expected an integer number of seconds >= 1)")
    if metrics is not None and 'wordgame_games_rejected_total{reason="capacity"} 1' not in metrics:
        problems.append("the rejection is not counted in wordgame_games_rejected_total")
    if problems:
        finding("/new past the maximum of live games: " + "; ".join(problems))


def test_admin_endpoints_not_on_the_public_address(target):
    """pprof and metrics are served on the admin listener only, never on the public one."""
    if not target.admin_url:
        pytest.skip("no admin URL (pass --wordgame-admin-url)")
    served = []
    for path in ("/debug/pprof/", "/debug/pprof/cmdline", "/metrics"):
        res = raw_request(target.url, "GET", path)
        if res.count and res.responses[0][0] == 200:
            served.append(path)
    if served:
        finding("admin endpoints served on the public address: " + ", ".join(served))
    if host_port(target.admin_url) == host_port(target.url):
        finding(f"the admin endpoints share the public address {target.url}")


def test_stalled_body_gets_408(target):
    """A body that stalls gets a 408 with a JSON error once the read timeout passes, not a silent EOF."""
    hp = "%s:%d" % host_port(target.url)
    partial = (f"POST /guess HTTP/1.1\r\nHost: {hp}\r\nContent-Type: application/json\r\n"
               f"Content-Length: 100\r\n\r\n" + '{"id": "').encode()
    res = raw_exchange(target.url, partial, timeout=target.slow_timeout + 2)
    if not res.count:
        finding(f"stalled body: {res.describe()} (expected 408 with a JSON error)")
    status, headers, body = res.responses[0]
    if status != 408:
        finding(f"stalled body -> {status} {short(body, 60)!r} (expected 408)")
    try:
        doc = single_json(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not headers.get("content-type", "").startswith("application/json"):
        finding(f"stalled body -> 408 without a JSON error: {short(body, 60)!r}")


JSON_INTERNALS = ("json:", "Go struct", "Go value", "unmarshal", "of type")


def test_error_messages_do_not_echo_decoder_internals(target, client):
    """4xx messages say what is wrong with the request, not encoding/json's text with Go type names."""
    g = new_game(client)
    bodies = {
        "guess is a number": '{"id": "%s", "guess": 5}' % g["id"],
        "guess is a list": '{"id": "%s", "guess": ["e"]}' % g["id"],
        "id is a number": '{"id": 12, "guess": "e"}',
        "trailing data": '{"id": "%s", "guess": "e"} x' % g["id"],
        "truncated JSON": '{"id": "%s", "gue' % g["id"],
        "JSON array": "[1, 2]",
    }
    leaks = []
    for name, body in bodies.items():
        res = raw_request(target.url, "POST", "/guess", body=body.encode())
        if not res.count:
            continue                        # no response at all: another test's finding
        text = res.responses[0][2].decode("utf-8", "replace")
        hit = [w for w in JSON_INTERNALS if w in text]
        if hit:
            leaks.append(f"{name}: {short(res.responses[0][2], 70)!r}")
    if leaks:
        finding("error messages echo encoding/json internals (Go type names): " + "; ".join(leaks))
