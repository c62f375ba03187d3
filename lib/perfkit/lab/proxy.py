"""A small asyncio TCP proxy for latency and fault injection, on 127.0.0.1.

    with FaultProxy(server.url, delay_ms=50) as p:      # every request chunk held 50 ms
        Client(p.url).new()

The proxy runs its own event loop in a daemon thread, listens on a free
loopback port and forwards every accepted connection to the target. Faults:

- ``delay_ms`` (+ uniform ``jitter_ms``): added before forwarding each chunk
  (``per="chunk"``, the default: with HTTP/1.1 one request is one chunk, so
  every request on a keep-alive connection is delayed) or once when a
  connection is opened (``per="connection"``). ``direction`` picks which way
  is delayed: ``"up"`` (client to server, the default), ``"down"`` or ``"both"``
  (twice the delay per round trip).
- ``drop_rate``: the probability that a connection is dropped. ``drop_at=
  "accept"`` closes it before anything is forwarded (the server never sees
  the request); ``"response"`` forwards the request and then drops the
  connection instead of the response (the server did the work, the client
  sees an error). ``drop_mode="reset"`` sends a TCP RST (SO_LINGER 0),
  ``"close"`` a FIN.

Bounded: the proxy stops by itself after ``max_seconds`` and accepts at most
``max_connections`` connections (later ones are closed at once and counted
as refused). ``stats`` and ``events`` say what it did.
"""
from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from ..errors import PerfkitError

from .ports import LOOPBACK_HOSTS, host_port


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
    delayed_s: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FaultProxy:
    target: str                          # URL or "host:port" of the server
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    per: str = "chunk"                   # "chunk" | "connection"
    direction: str = "up"                # "up" | "down" | "both"
    drop_rate: float = 0.0
    drop_at: str = "accept"              # "accept" | "response"
    drop_mode: str = "reset"             # "reset" | "close"
    max_seconds: float = 120.0
    max_connections: int = 100_000
    seed: int | None = None
    stats: ProxyStats = field(default_factory=ProxyStats)
    events: list = field(default_factory=list)     # (monotonic t, conn no, event)

    def __post_init__(self):
        if self.per not in ("chunk", "connection") or self.direction not in ("up", "down", "both"):
            raise ValueError("per must be chunk|connection, direction up|down|both")
        if self.drop_at not in ("accept", "response") or self.drop_mode not in ("reset", "close"):
            raise ValueError("drop_at must be accept|response, drop_mode reset|close")
        if not 0.0 <= self.drop_rate <= 1.0:
            raise ValueError("drop_rate must be in [0, 1]")
        self.max_seconds = float(min(max(self.max_seconds, 0.1), 3600))
        t = self.target.split("://", 1)[-1] if "://" in self.target else self.target
        self.upstream = host_port("http://" + t.split("/", 1)[0])
        if self.upstream[0] not in LOOPBACK_HOSTS:
            raise ValueError("the fault proxy only forwards to loopback targets")
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
        if self.per == "connection" and self.delay_ms + self.jitter_ms > 0:
            d = self._delay()
            self.stats.delayed_s += d
            await asyncio.sleep(d)
        try:
            sreader, swriter = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            self.stats.upstream_errors += 1
            self._event(n, "upstream connect failed")
            self._drop(cwriter, "reset")
            return
        self._event(n, "connected")
        chunk_delay = self.per == "chunk" and self.delay_ms + self.jitter_ms > 0
        up = asyncio.ensure_future(self._pump(creader, swriter, "up", chunk_delay and self.direction != "down"))
        if drop:                                   # drop_at == "response"
            down = asyncio.ensure_future(self._swallow_first(sreader, cwriter, n))
        else:
            down = asyncio.ensure_future(self._pump(sreader, cwriter, "down", chunk_delay and self.direction != "up"))
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

    async def _pump(self, reader, writer, way: str, delayed: bool) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if delayed:
                    d = self._delay()
                    self.stats.delayed_s += d
                    await asyncio.sleep(d)
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
            await sreader.read(65536)
        except (ConnectionError, OSError):
            pass
        self.stats.dropped += 1
        self._event(n, "dropped at response")
        self._drop(cwriter, self.drop_mode)
