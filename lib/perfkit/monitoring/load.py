"""A small bounded load for the wordgame server (loopback only), for tests and demos."""
from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import urlsplit

LETTERS = "ETAOINSHRDLUCMPBYGKWF"


def _post(url: str, body: dict | None, timeout: float = 5.0) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        e.read()
        return e.code, None


def run_load(url: str, duration: float = 5.0, *, threads: int = 4, rate: float | None = None,
             bad_fraction: float = 0.05, abandon_fraction: float = 0.2, seed: int = 1) -> Counter:
    """Play games against ``url`` for ``duration`` seconds from ``threads`` threads.

    Each game: POST /new, then guesses until won/lost (a fraction of games is
    abandoned, so they stay active). ``bad_fraction`` of guesses are invalid
    (two letters -> 400, counted as rejected) or for an unknown id (404).
    ``rate`` caps the requests per second per thread. Only 127.0.0.1/localhost
    URLs are accepted. Returns counts of ``(route, status)``.
    """
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"run_load only drives loopback servers, not {host!r}")
    stats: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        local: Counter = Counter()
        pause = 1.0 / rate if rate else 0.0

        def tick():
            if pause:
                time.sleep(pause)
        while time.monotonic() < stop_at:
            code, g = _post(url + "/new", None)
            local[("/new", code)] += 1
            tick()
            if code != 200 or g is None:
                continue
            gid = g["id"]
            abandon = rnd.random() < abandon_fraction
            letters = list(LETTERS)
            rnd.shuffle(letters)
            for i, letter in enumerate(letters):
                if time.monotonic() >= stop_at or (abandon and i >= 2):
                    break
                if rnd.random() < bad_fraction:
                    bad = rnd.choice([{"id": gid, "guess": "xy"}, {"id": "00000000-0000-4000-8000-000000000000", "guess": "a"}])
                    c, _ = _post(url + "/guess", bad)
                    local[("/guess", c)] += 1
                    tick()
                c, st = _post(url + "/guess", {"id": gid, "guess": letter})
                local[("/guess", c)] += 1
                tick()
                if c != 200 or st is None or "_" not in st.get("current", "_") or st.get("guesses_remaining", 1) == 0:
                    break
        with lock:
            stats.update(local)

    ts = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(duration + 30)
    return stats
