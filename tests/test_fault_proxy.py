"""FaultProxy against a tiny keep-alive HTTP/1.1 server started here: the delay is added exactly where
``per`` and ``direction`` say, for requests split over two writes and for responses of many chunks;
drops and resets; bounds.

Bound on the added latency, from the mechanism: a hold never ends early (asyncio rounds timer waits up),
so a delayed request takes at least ``delay``; it ends late by the epoll timer granularity (1 ms) plus
at most one GIL hand-off for the proxy's thread and one for the client's (``sys.getswitchinterval()``
each). Baseline and delayed requests alternate on two keep-alive connections, so the machine's noise
hits both; the lower side allows the baseline's own spread (its median minus its minimum). A hold
counts from a message's first byte: bytes of the same message that arrive during it wait inside it, so
a request whose body follows its headers by ``GAP_MS`` (as this test's client sends it) gets that much
less when requests are held.
"""
from __future__ import annotations

import socket
import socketserver
import statistics
import sys
import threading
import time

import pytest

from perfkit.errors import OptionError
from perfkit.lab import FaultProxy

pytestmark = [pytest.mark.slow, pytest.mark.serial]     # they measure added latency in milliseconds

DELAY_MS = 25.0
TIMER_MS = 1.0                                        # epoll waits are whole milliseconds, rounded up
SCHED_MS = 2 * sys.getswitchinterval() * 1000         # proxy thread and client thread each wait <= 1 hand-off
GAP_MS = 2.0                                          # the test client's pause between headers and body
BIG = 256 * 1024                                      # >= 4 reads of 64 KiB through the proxy
ROUNDS = 11


class _Handler(socketserver.BaseRequestHandler):
    """HTTP/1.1 keep-alive: ``GET|POST /bytes/N`` answers N bytes; counts the requests it answered."""

    def handle(self):
        sock, buf = self.request, b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next((int(v) for k, _, v in (ln.partition(":") for ln in lines[1:])
                           if k.strip().lower() == "content-length"), 0)
            while len(buf) < length:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            buf = buf[length:]
            n = int(lines[0].split()[1].rsplit("/", 1)[1])
            self.server.answered += 1
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + b"x" * n)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    answered = 0


@pytest.fixture(scope="module")
def upstream():
    srv = _Server(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv
    srv.shutdown()
    srv.server_close()


class _Conn:
    """One keep-alive connection; a POST's headers and body go out in two writes ``GAP_MS`` apart, so
    the proxy sees the request as two chunks."""

    def __init__(self, url: str):
        host, port = url.split("//", 1)[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, size: int, body: bytes = b"") -> float:
        t0 = time.perf_counter()
        method = "POST" if body else "GET"
        self.sock.sendall(f"{method} /bytes/{size} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
                          .encode())
        if body:
            time.sleep(GAP_MS / 1000)
            self.sock.sendall(body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self._recv()
        head, _, rest = buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        while len(rest) < size:
            rest += self._recv()
        assert len(rest) == size
        return (time.perf_counter() - t0) * 1000

    def _recv(self) -> bytes:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("closed")
        return data

    def close(self):
        self.sock.close()


def _added_ms(url: str, size: int, body: bytes = b"", **proxy) -> tuple[list[float], list[float], FaultProxy]:
    """Latencies (ms) through an undelayed and a delayed proxy, alternating request by request."""
    with FaultProxy(url, max_seconds=30) as p0, FaultProxy(url, max_seconds=30, **proxy) as p1:
        c0, c1 = _Conn(p0.url), _Conn(p1.url)
        c0.request(size, body), c1.request(size, body)                # first request: connect, warm up
        base, delayed = [], []
        for _ in range(ROUNDS):
            base.append(c0.request(size, body))
            delayed.append(c1.request(size, body))
        c0.close(), c1.close()
    return base, delayed, p1


def _check(base, delayed, holds: int, overlap_ms: float = 0.0, delay_ms: float = DELAY_MS):
    """``holds`` holds per request; ``overlap_ms``: request bytes that arrive during a hold."""
    want = holds * delay_ms
    rise = statistics.median(delayed) - statistics.median(base)
    spread = statistics.median(base) - min(base)
    assert min(delayed) >= want, (min(delayed), want)                  # a hold never ends early
    low, high = want - overlap_ms - spread, want + holds * TIMER_MS + SCHED_MS + spread
    assert low <= rise <= high, (rise, low, high)


@pytest.mark.parametrize("direction", ["down", "up"])
@pytest.mark.parametrize("size,body", [(100, b'{"guess": "e"}'), (BIG, b""), (BIG, b"b" * 3000)],
                         ids=["small-post-2-chunks", "big-response", "big-post"])
def test_delay_is_added_once_per_request(upstream, direction, size, body):
    url, _ = upstream
    base, delayed, p = _added_ms(url, size, body, delay_ms=DELAY_MS, direction=direction)
    _check(base, delayed, holds=1, overlap_ms=GAP_MS if body and direction == "up" else 0.0)
    n = ROUNDS + 1
    assert p.stats.delays == n                                     # one hold per request, nothing else
    if body and direction == "up":
        # A busy machine can coalesce a request's two writes (the proxy wakes after both arrived), so
        # require one split request: with exactly n holds, that one was not held twice.
        assert p.stats.chunks_up > n
    if size == BIG:
        assert p.stats.chunks_down >= 2 * n                        # the response really was several chunks
    assert abs(p.stats.delayed_s - n * DELAY_MS / 1000) < 1e-9


def test_both_directions_add_the_delay_twice(upstream):
    url, _ = upstream
    base, delayed, p = _added_ms(url, BIG, b"b" * 3000, delay_ms=DELAY_MS, direction="both")
    _check(base, delayed, holds=2, overlap_ms=GAP_MS)
    assert p.stats.delays == 2 * (ROUNDS + 1)


def test_per_chunk_holds_every_chunk(upstream):
    """The documented per-chunk mode: a request written in two parts is held twice (when the proxy read
    it as two chunks: a busy machine may let both parts arrive before the proxy reads)."""
    url, _ = upstream
    base, delayed, p = _added_ms(url, 100, b'{"guess": "e"}', delay_ms=DELAY_MS, direction="up", per="chunk")
    assert p.stats.delays == p.stats.chunks_up >= ROUNDS + 1             # every chunk held, nothing else
    if p.stats.delays == 2 * (ROUNDS + 1):
        _check(base, delayed, holds=2, overlap_ms=GAP_MS)
    else:
        assert min(delayed) >= DELAY_MS


def test_jitter_stays_within_its_range(upstream):
    url, _ = upstream
    base, delayed, p = _added_ms(url, 100, delay_ms=20, jitter_ms=20, seed=3)
    n = ROUNDS + 1
    assert 20 * n <= p.stats.delayed_s * 1000 <= 40 * n
    assert min(delayed) >= 20 and p.stats.held_s >= p.stats.delayed_s       # each hold >= its draw
    assert max(delayed) - min(delayed) >= 5                                # the draws differ


def test_per_connection_delays_only_the_first_request(upstream):
    url, _ = upstream
    with FaultProxy(url, delay_ms=DELAY_MS, per="connection", max_seconds=10) as p:
        c = _Conn(p.url)
        first, second = c.request(100), c.request(100)
        c.close()
    assert first >= DELAY_MS and second < DELAY_MS, (first, second)
    assert p.stats.delays == 1


def test_overshoot_is_timer_plus_scheduling(upstream):
    url, _ = upstream
    _, _, p = _added_ms(url, 100, delay_ms=10)
    assert 0 <= p.stats.hold_overshoot_ms <= TIMER_MS + SCHED_MS, p.stats.hold_overshoot_ms


@pytest.mark.parametrize("mode,error", [("reset", (ConnectionResetError, BrokenPipeError)),
                                        ("close", ConnectionError)])
def test_drop_at_accept_never_reaches_the_server(upstream, mode, error):
    url, srv = upstream
    before = srv.answered
    with FaultProxy(url, drop_rate=1.0, drop_mode=mode, max_seconds=10) as p:
        c = None
        with pytest.raises(error):
            c = _Conn(p.url)          # on loopback the reset can beat connect() back to the caller
            c.request(100)
            c.request(100)            # a FIN may let the first write through; the read or the next one fails
        if c is not None:
            c.close()
    assert p.stats.dropped == 1 and p.stats.bytes_up == 0 and srv.answered == before


def test_drop_at_response_after_the_server_answered(upstream):
    url, srv = upstream
    before = srv.answered
    with FaultProxy(url, drop_rate=1.0, drop_at="response", max_seconds=10) as p:
        c = _Conn(p.url)
        with pytest.raises(ConnectionError):
            c.request(100)
        c.close()
    assert p.stats.dropped == 1 and p.stats.bytes_up > 0 and p.stats.bytes_down == 0
    assert srv.answered == before + 1                                # the server did the work


def test_drop_rate_is_a_share_of_connections(upstream):
    url, _ = upstream
    n, errors = 200, 0
    with FaultProxy(url, drop_rate=0.25, seed=7, max_seconds=20) as p:
        for _ in range(n):
            try:
                c = _Conn(p.url)
                try:
                    c.request(10)
                finally:
                    c.close()
            except ConnectionError:
                errors += 1
    assert errors == p.stats.dropped and p.stats.accepted == n
    sd = (0.25 * 0.75 / n) ** 0.5
    assert abs(errors / n - 0.25) <= 4 * sd, errors


def test_bounds_and_options(upstream):
    url, _ = upstream
    t = time.monotonic()
    p = FaultProxy(url, max_seconds=0.3, max_connections=1).start()
    c = _Conn(p.url)
    assert c.request(10) > 0
    c2 = _Conn(p.url)
    with pytest.raises(ConnectionError):
        c2.request(10)                                             # over max_connections: closed at once
    c.close(), c2.close()
    p._thread.join(5)                                              # stops by itself at max_seconds
    assert not p.running and time.monotonic() - t < 5 and p.stats.refused_over_limit == 1
    for bad in ({"per": "packet"}, {"direction": "sideways"}, {"drop_rate": 2}, {"delay_ms": -1},
                {"drop_at": "never"}):
        with pytest.raises(OptionError):
            FaultProxy(url, **bad)
    with pytest.raises(OptionError, match="loopback"):
        FaultProxy("http://10.0.0.1:80")
