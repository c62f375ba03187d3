"""Loopback addresses: a free TCP port, a URL's host and port, whether something listens there.

Every server perfkit.lab starts binds 127.0.0.1.
"""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_port(url: str) -> tuple[str, int]:
    """``(host, port)`` of a URL (port 80/443 when absent)."""
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or (443 if u.scheme == "https" else 80)


def port_open(url: str, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections at the URL's host:port."""
    try:
        with socket.create_connection(host_port(url), timeout=timeout):
            return True
    except OSError:
        return False
