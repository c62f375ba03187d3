"""A small wordgame HTTP client with timeouts, and raw-socket helpers.

`Client` wraps one `requests.Session` (keep-alive) and always passes a timeout.
`raw_exchange` sends bytes on a fresh TCP connection and parses whatever comes
back, so tests can tell "exactly one response" from "no response" (EOF) or
"two responses". `slow_client` holds a half-sent request open and measures how
long the server takes to hang up.
"""
from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field

import requests

from perfkit.lab import host_port, port_open

DEFAULT_TIMEOUT = 5.0

# host_port and port_open are perfkit.lab's, offered here with the rest of the client
__all__ = ["DEFAULT_TIMEOUT", "Client", "Reply", "RawResult", "build_request", "raw_exchange", "raw_request",
           "slow_client", "host_port", "port_open"]


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    elapsed: float

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Client:
    """JSON client for the wordgame API. Every call has a timeout; errors are raised."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def request(self, method: str, path: str, *, json_body=None, data=None, headers=None) -> Reply:
        t0 = time.perf_counter()
        r = self.session.request(method, self.base + path, json=json_body, data=data, headers=headers,
                                 timeout=self.timeout)
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content,
                     time.perf_counter() - t0)

    def new(self) -> Reply:
        return self.request("POST", "/new")

    def guess(self, game_id: str, letter) -> Reply:
        return self.request("POST", "/guess", json_body={"id": game_id, "guess": letter})

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- raw socket -------------------------------------------------------------
@dataclass
class RawResult:
    """What came back on one connection for one request."""
    responses: list = field(default_factory=list)    # list of (status, headers dict, body bytes)
    trailing: bytes = b""                            # bytes that did not parse as a response
    error: str = ""                                  # socket error (reset, timeout)
    raw: bytes = b""

    @property
    def count(self) -> int:
        return len(self.responses)

    def describe(self) -> str:
        if not self.responses:
            why = self.error or "connection closed"
            return f"no response at all ({why}, {len(self.raw)} bytes received)"
        parts = [f"{s}" for s, _, _ in self.responses]
        msg = f"{len(self.responses)} response(s): " + ", ".join(parts)
        if self.trailing:
            msg += f" + {len(self.trailing)} trailing bytes"
        return msg


def _parse_responses(data: bytes) -> tuple[list, bytes]:
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"HTTP/"):
            break
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            break
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line, sep2, rest = rest.partition(b"\r\n")
                if not sep2:
                    return out, data
                try:
                    n = int(size_line.split(b";")[0], 16)
                except ValueError:
                    return out, data
                if n == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:n]
                rest = rest[n + 2:]
        else:
            n = int(headers.get("content-length", "0") or 0)
            if len(rest) < n:
                return out, data
            body, rest = rest[:n], rest[n:]
        out.append((status, headers, body))
        data = rest
    return out, data


def build_request(method: str, path: str, host: str, body: bytes | str | None = None,
                  headers: dict | None = None, close: bool = True) -> bytes:
    if isinstance(body, str):
        body = body.encode()
    h = {"Host": host, "Content-Type": "application/json"}
    if body is not None:
        h["Content-Length"] = str(len(body))
    if close:
        h["Connection"] = "close"
    h.update(headers or {})
    req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return req.encode() + (body or b"")


def raw_exchange(url: str, payload: bytes, timeout: float = DEFAULT_TIMEOUT) -> RawResult:
    """Send raw bytes, read until the server closes (or timeout), parse every response."""
    res = RawResult()
    chunks = []
    try:
        with socket.create_connection(host_port(url), timeout=timeout) as s:
            s.sendall(payload)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    res.error = "timed out waiting for the server to close"
                    break
                if not b:
                    break
                chunks.append(b)
    except ConnectionResetError:
        res.error = "connection reset"
    except OSError as e:
        res.error = f"{type(e).__name__}: {e}"
    res.raw = b"".join(chunks)
    res.responses, res.trailing = _parse_responses(res.raw)
    return res


def raw_request(url: str, method: str, path: str, body=None, headers=None, timeout: float = DEFAULT_TIMEOUT
                ) -> RawResult:
    return raw_exchange(url, build_request(method, path, "%s:%d" % host_port(url), body, headers), timeout)


def slow_client(url: str, partial: bytes, max_wait: float) -> tuple[bool, float, bytes]:
    """Send a partial request and wait. Returns (closed_by_server, seconds, bytes received)."""
    t0 = time.monotonic()
    got = b""
    with socket.create_connection(host_port(url), timeout=max_wait) as s:
        s.sendall(partial)
        s.settimeout(0.25)
        while time.monotonic() - t0 < max_wait:
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True, time.monotonic() - t0, got
            if not b:
                return True, time.monotonic() - t0, got
            got += b
    return False, time.monotonic() - t0, got
