"""Bounded background load from Python threads: players start games and guess, every request recorded.

The one game-playing loop of the Python side (the locustfile is Locust's, the
concurrency test's checks every transition against the rules). Loopback only.
"""
from __future__ import annotations

import random
import threading
import time
from urllib.parse import urlsplit

import pandas as pd

from perfkit.lab import LOOPBACK_HOSTS

from .client import Client
from .model import FREQUENCY

REQUEST_COLUMNS = ["t", "latency_s", "kind", "route", "status", "error"]
ROUTES = {"new": "/new", "guess": "/guess", "invalid": "/guess"}

__all__ = ["Recorder", "play", "REQUEST_COLUMNS"]


class Recorder:
    """``threads`` players doing new game + guesses until :meth:`stop` (bounded by ``max_seconds``
    and ``max_requests``); :meth:`stop` returns one row per request: t (monotonic), latency_s, kind
    (new, guess, invalid), route, status (0: no answer), error (exception name), ok (status < 500, not 0)."""

    def __init__(self, url: str, threads: int = 4, max_seconds: float = 60, max_requests: int = 200_000, *,
                 fresh_connections: bool = False, abandon: float = 0.0, guesses: int = 7, invalid: float = 0.0,
                 rate: float | None = None, seed: int = 0, timeout: float = 2.0, retry_s: float = 0.01):
        """``fresh_connections``: one TCP connection per request (``Connection: close``), so per-connection
        faults map to per-request errors. ``abandon``: share of games left after 0-2 guesses (they stay
        in the server until its idle TTL evicts them). ``guesses``: at most this many guesses per game.
        ``invalid``: share of guesses preceded by an invalid one (two letters: 400). ``rate``: at most
        this many requests per second per player, on a fixed schedule (request k no earlier than
        start + phase + k / rate, the phase drawn per player from ``seed``; a late request goes at
        once, missed slots are not caught up), so players paced alike send alike whatever their
        latency, as long as it stays below 1 / rate. ``timeout``: the client's, per request.
        ``retry_s``: the pause before a player reconnects after a request got no answer."""
        if urlsplit(url).hostname not in LOOPBACK_HOSTS:
            raise ValueError(f"players only drive loopback servers, not {url!r}")
        self.url, self.threads, self.max_requests = url, threads, max_requests
        self.max_seconds = float(min(max(max_seconds, 0.1), 3600))
        self.fresh, self.abandon, self.guesses = fresh_connections, abandon, max(0, int(guesses))
        self.invalid, self.period = invalid, (1.0 / rate if rate else 0.0)
        self.seed = seed
        self.timeout, self.retry_s = timeout, retry_s
        self.rows: list[tuple] = []
        self._stop = threading.Event()
        self._ts: list[threading.Thread] = []
        self.games_started: set[str] = set()

    def _send(self, c: Client, kind: str, gid, letter, hdr):
        t0 = time.monotonic()
        body = None
        try:
            if kind == "new":
                r = c.request("POST", "/new", headers=hdr)
            else:
                r = c.request("POST", "/guess", json_body={"id": gid, "guess": letter}, headers=hdr)
            status, err = r.status, ""
            if r.status == 200:
                body = r.json
        except Exception as e:                   # noqa: BLE001 - recorded
            status, err = 0, type(e).__name__
        self.rows.append((t0, time.monotonic() - t0, kind, ROUTES[kind], status, err))
        return status, body

    def _pace(self, slot: list) -> None:
        """Wait for this player's next slot (``slot[0]``, monotonic), then move it one period on."""
        if self.period:
            now = time.monotonic()
            if slot[0] > now:
                self._stop.wait(slot[0] - now)
            slot[0] = max(slot[0], time.monotonic() - self.period) + self.period

    def _player(self, k: int):
        c = Client(self.url, timeout=self.timeout)
        rng = random.Random(self.seed * 1000 + k)
        hdr = {"Connection": "close"} if self.fresh else None
        t_end = time.monotonic() + self.max_seconds
        slot = [time.monotonic() + rng.uniform(0, self.period)]
        i = 0
        while not self._stop.is_set() and time.monotonic() < t_end and len(self.rows) < self.max_requests:
            self._pace(slot)
            status, st = self._send(c, "new", None, None, hdr)
            if status == 200:
                self.games_started.add(st["id"])
                n = rng.randint(0, 2) if rng.random() < self.abandon else self.guesses
                for step in range(n):
                    if self._stop.is_set():
                        break
                    letter = FREQUENCY[(k + i + step) % 26]
                    if self.invalid and rng.random() < self.invalid:
                        self._pace(slot)
                        self._send(c, "invalid", st["id"], letter + letter, hdr)
                    self._pace(slot)
                    status, after = self._send(c, "guess", st["id"], letter, hdr)
                    if status != 200 or "_" not in after["current"] or after["guesses_remaining"] == 0:
                        break
            if status == 0:                       # a broken connection: start over on a new one
                c.close()
                c = Client(self.url, timeout=self.timeout)
                self._stop.wait(self.retry_s)
            i += 1
        c.close()

    def start(self) -> "Recorder":
        self._ts = [threading.Thread(target=self._player, args=(k,), daemon=True) for k in range(self.threads)]
        for t in self._ts:
            t.start()
        return self

    def stop(self) -> pd.DataFrame:
        self._stop.set()
        for t in self._ts:
            t.join(10)
        df = pd.DataFrame(self.rows, columns=REQUEST_COLUMNS).sort_values("t")
        df["ok"] = df["status"].between(200, 499)
        return df.reset_index(drop=True)

    def finish(self, timeout: float | None = None) -> pd.DataFrame:
        """Wait (at most ``timeout``, default ``max_seconds``) for the players to end by themselves
        (``max_requests`` reached, or ``max_seconds``), then stop: the request frame."""
        deadline = time.monotonic() + min(timeout if timeout is not None else self.max_seconds, self.max_seconds)
        for t in self._ts:
            t.join(max(0.0, deadline - time.monotonic()))
        return self.stop()

    def run(self, seconds: float) -> pd.DataFrame:
        """Start, play for ``seconds``, stop: the request frame."""
        self.start()
        self._stop.wait(min(seconds, self.max_seconds))
        return self.stop()


def play(url: str, seconds: float, *, threads: int = 4, **options) -> pd.DataFrame:
    """Play against ``url`` for ``seconds`` from ``threads`` players (options as :class:`Recorder`);
    one row per request."""
    return Recorder(url, threads, max_seconds=seconds + 5, **options).run(seconds)
