"""A small asyncio TCP proxy for latency and fault injection, on 127.0.0.1.

    with FaultProxy(server.url, delay_ms=50) as p:      # every response held 50 ms at its first byte
        Client(p.url).new()

The proxy runs its own event loop in a daemon thread, listens on a free
loopback port and forwards every accepted connection to the target. It does
not parse the protocol: it sees chunks (what one read of the socket returns,
up to 64 KiB), and how a message is split into chunks depends on the sender's
writes and on timing (an HTTP client often writes the headers and the body of
a POST separately; a large response is several chunks).

Latency, ``delay_ms`` (+ a uniform ``jitter_ms``, drawn per hold), added where
``per`` says:

- ``per="request"`` (the default): once per request/response exchange. A
  *message* starts with the first chunk in ``direction`` after the other way
  carried data (or the first chunk of the connection); that chunk is held
  ``delay_ms`` from the instant it arrived, and the rest of the message follows
  it without delay. ``direction="down"`` (the default) holds each response at
  its first byte, ``"up"`` each request at its first byte, ``"both"`` both (twice
  the delay per exchange). So on a keep-alive connection every request gets
  exactly ``delay_ms`` more, whatever the message sizes. The hold counts from
  the message's first byte, and bytes of the message that arrive meanwhile
  wait inside it (a body sent g ms after its headers makes a held request
  d - g slower; g is microseconds for real clients). It assumes a
  request/response protocol without pipelining (HTTP/1.1 as clients use it).
- ``per="connection"``: once, when a connection is accepted, before the
  proxy connects upstream (keep-alive requests after the first get nothing).
- ``per="chunk"``: every chunk in ``direction`` is held, one after the other:
  a message of k chunks gets k × ``delay_ms``, and k depends on segmentation.
  Use it only to model a slow link, never to inject a known latency.

A hold never ends early (asyncio timers round up); it ends late by the event
loop's timer granularity (1 ms with epoll) plus the wait for this thread to run
again (the GIL, at most ``sys.getswitchinterval()`` per hand-off, and the OS
scheduler). ``stats.delays`` counts the holds, ``stats.delayed_s`` sums what was
asked and ``stats.held_s`` what was measured, so the overshoot is known.

Faults, ``drop_rate``: the probability that a connection is dropped.
``drop_at="accept"`` closes it before anything is forwarded (the server never
sees the request); ``"response"`` forwards the request and then drops the
connection instead of the response (the server did the work, the client sees
an error). ``drop_mode="reset"`` sends a TCP RST (SO_LINGER 0), ``"close"`` a FIN.

Bounded: the proxy stops by itself after ``max_seconds`` and accepts at most
``max_connections`` connections (later ones are closed at once and counted
as refused). ``stats`` and ``events`` say what it did. Bad options raise
:class:`perfkit.errors.OptionError`.
"""
from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from ..errors import OptionError, PerfkitError

from .ports import LOOPBACK_HOSTS, host_port

CHUNK = 65536
OTHER = {"up": "down", "down": "up"}


@dataclass
class ProxyStats:
    accepted: int = 0
    dropped: int = 0
    refused_over_limit: int = 0
    upstream_errors: int = 0
    chunks_up: int = 0
    chunks_down: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    delays: int = 0                      # holds (per message, connection or chunk, as ``per`` says)
    delayed_s: float = 0.0               # the holds asked for (delay + jitter)
    held_s: float = 0.0                  # the holds measured, arrival to forward

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def hold_overshoot_ms(self) -> float:
        """Mean time a hold lasted beyond what was asked (timer granularity + scheduling), in ms."""
        return (self.held_s - self.delayed_s) / self.delays * 1000 if self.delays else 0.0


@dataclass
class FaultProxy:
    target: str                          # URL or "host:port" of the server
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    per: str = "request"                 # "request" | "connection" | "chunk"
    direction: str = "down"              # "down" (server to client) | "up" | "both"
    drop_rate: float = 0.0
    drop_at: str = "accept"              # "accept" | "response"
    drop_mode: str = "reset"             # "reset" | "close"
    max_seconds: float = 120.0
    max_connections: int = 100_000
    seed: int | None = None
    stats: ProxyStats = field(default_factory=ProxyStats)
    events: list = field(default_factory=list)     # (monotonic t, conn no, event)

    def __post_init__(self):
        if self.per not in ("request", "connection", "chunk"):
            raise OptionError("FaultProxy", f"per must be request|connection|chunk, not {self.per!r}")
        if self.direction not in ("up", "down", "both"):
            raise OptionError("FaultProxy", f"direction must be up|down|both, not {self.direction!r}")
        if self.drop_at not in ("accept", "response") or self.drop_mode not in ("reset", "close"):
            raise OptionError("FaultProxy", "drop_at must be accept|response, drop_mode reset|close")
        if not 0.0 <= self.drop_rate <= 1.0:
            raise OptionError("FaultProxy", f"drop_rate must be in [0, 1], not {self.drop_rate}")
        if not (0.0 <= self.delay_ms <= 60_000 and 0.0 <= self.jitter_ms <= 60_000):
            raise OptionError("FaultProxy", "delay_ms and jitter_ms must be in [0, 60000]")
        self.max_seconds = float(min(max(self.max_seconds, 0.1), 3600))
        t = self.target.split("://", 1)[-1] if "://" in self.target else self.target
        self.upstream = host_port("http://" + t.split("/", 1)[0])
        if self.upstream[0] not in LOOPBACK_HOSTS:
            raise OptionError(self.target, "the fault proxy only forwards to loopback targets")
        self._rng = random.Random(self.seed)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set = set()
        self.port = 0
        self.started_at = self.stopped_at = 0.0

    # -- public -------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error:
            raise PerfkitError("fault proxy", f"did not start: {self._error!r}")
        return self

    def stop(self, timeout: float = 5.0) -> ProxyStats:
        if self._loop and self._stop and self.running:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(timeout)
        return self.stats

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- loop ---------------------------------------------------------------
    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as e:             # noqa: BLE001 - reported by start()
            self._error = e
            self._ready.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self.started_at = time.monotonic()
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.max_seconds)
        except asyncio.TimeoutError:
            self._event(0, "lifetime over")
        server.close()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        await server.wait_closed()
        self.stopped_at = time.monotonic()

    def _event(self, n: int, what: str) -> None:
        if len(self.events) < 200_000:
            self.events.append((time.monotonic(), n, what))

    def _delay(self) -> float:
        d = self.delay_ms + (self._rng.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0)
        return max(d, 0.0) / 1000.0

    async def _hold(self, since: float) -> None:
        """Hold until ``since`` (loop time the data arrived) + one delay draw; count what was held."""
        loop = asyncio.get_running_loop()
        d = self._delay()
        wait = since + d - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self.stats.delays += 1
        self.stats.delayed_s += d
        self.stats.held_s += loop.time() - since

    @staticmethod
    def _drop(writer: asyncio.StreamWriter, mode: str) -> None:
        if mode == "reset":
            sock = writer.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            writer.transport.abort()
        else:
            writer.close()

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await self._connection(creader, cwriter)
        except asyncio.CancelledError:
            self._drop(cwriter, "close")
        finally:
            self._tasks.discard(task)

    async def _connection(self, creader, cwriter) -> None:
        if self.stats.accepted >= self.max_connections:
            self.stats.refused_over_limit += 1
            self._drop(cwriter, "close")
            return
        self.stats.accepted += 1
        n = self.stats.accepted
        drop = self.drop_rate > 0 and self._rng.random() < self.drop_rate
        if drop and self.drop_at == "accept":
            self.stats.dropped += 1
            self._event(n, "dropped at accept")
            self._drop(cwriter, self.drop_mode)
            return
        delaying = self.delay_ms + self.jitter_ms > 0
        if self.per == "connection" and delaying:
            await self._hold(asyncio.get_running_loop().time())
        try:
            sreader, swriter = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            self.stats.upstream_errors += 1
            self._event(n, "upstream connect failed")
            self._drop(cwriter, "reset")
            return
        self._event(n, "connected")
        held = {w: delaying and self.per != "connection" and self.direction in (w, "both") for w in ("up", "down")}
        starts = {"up": True, "down": True}        # the next chunk that way starts a message
        up = asyncio.ensure_future(self._pump(creader, swriter, "up", held["up"], starts))
        if drop:                                   # drop_at == "response"
            down = asyncio.ensure_future(self._swallow_first(sreader, cwriter, n))
        else:
            down = asyncio.ensure_future(self._pump(sreader, cwriter, "down", held["down"], starts))
        try:
            await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
            # a half-close from one side ends the exchange after the other side's last chunk
            await asyncio.wait([up, down], timeout=1.0)
        finally:
            for t in (up, down):
                t.cancel()
            for w in (swriter, cwriter):
                if not w.is_closing():
                    w.close()

    async def _pump(self, reader, writer, way: str, delayed: bool, starts: dict) -> None:
        """Forward one direction. ``starts[way]`` is true when the next chunk begins a message: at the
        connection's start and whenever the other way has forwarded data since."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                arrived = loop.time()
                first = starts[way]
                starts[way] = False
                if delayed and (first or self.per == "chunk"):
                    await self._hold(arrived)
                starts[OTHER[way]] = True          # before the write: the answer can only follow it
                writer.write(data)
                await writer.drain()
                if way == "up":
                    self.stats.chunks_up += 1
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.chunks_down += 1
                    self.stats.bytes_down += len(data)
        except (ConnectionError, OSError):
            pass
        finally:
            if not writer.is_closing():
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass

    async def _swallow_first(self, sreader, cwriter, n: int) -> None:
        """The server answered: drop the client's connection instead of forwarding the response."""
        try:
            await sreader.read(CHUNK)
        except (ConnectionError, OSError):
            pass
        self.stats.dropped += 1
        self._event(n, "dropped at response")
        self._drop(cwriter, self.drop_mode)
