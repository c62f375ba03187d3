"""The lab's HTTPS server on 127.0.0.1: certificate key type and session tickets chosen at start."""
from __future__ import annotations

import json
import re
import signal
import subprocess
from collections import Counter, deque
from pathlib import Path

import pandas as pd

from perfkit.lab import GoServer, free_port

from .binaries import TLSLabError, lab_binaries

KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "ecdsa-p256")
KEY_LABELS = {"rsa2048": "RSA-2048", "rsa3072": "RSA-3072", "rsa4096": "RSA-4096", "ecdsa-p256": "ECDSA P-256"}

# the standard net/http line for a failed TLS handshake
HANDSHAKE_ERROR = re.compile(r"http: TLS handshake error from (\S+): (.*)$")

# bytes per sampled allocation: 32× denser than Go's default, so a short run samples enough TLS
# connections for requests_per_connection to have a usable interval
MEM_PROFILE_RATE = 16 * 1024
COUNTER_COLUMNS = ["t", "connections", "handshakes_full", "handshakes_resumed", "signatures", "errors_eof", "errors_reset",
                   "errors_timeout", "errors_other", "requests", "cpu_seconds", "gc_cycles"]

__all__ = ["read_counters", "COUNTER_COLUMNS", "TLSLabServer", "KEY_TYPES", "KEY_LABELS", "HANDSHAKE_ERROR", "handshake_error_class",
           "count_handshake_errors"]


def handshake_error_class(error: str) -> str:
    """eof, reset, timeout or other: the error text of a handshake error line."""
    e = error.strip()
    if e == "EOF" or e.endswith(": EOF"):
        return "eof"
    if "connection reset" in e or "broken pipe" in e:
        return "reset"
    if "timeout" in e:
        return "timeout"
    return "other"


def count_handshake_errors(text: str) -> Counter:
    """Handshake error lines in a server log, by :func:`handshake_error_class` (keys always present)."""
    out = Counter({"eof": 0, "reset": 0, "timeout": 0, "other": 0})
    for line in text.splitlines():
        m = HANDSHAKE_ERROR.search(line)
        if m:
            out[handshake_error_class(m.group(2))] += 1
    return out


class TLSLabServer(GoServer):
    """``tlsserver`` on free loopback ports. ``key`` is one of :data:`KEY_TYPES`; ``tickets`` turns TLS
    session tickets on or off; ``gomaxprocs`` and ``taskset`` bound the CPUs it uses. :attr:`cert_path`
    is the self-signed certificate (PEM) clients trust; :attr:`handshake_errors` counts the standard
    ``http: TLS handshake error`` lines it logged and :attr:`counters` holds its counters file (every
    100 ms: accepts, handshakes, errors, requests, its own CPU), both kept after :meth:`stop`."""

    def __init__(self, key: str = "rsa2048", *, tickets: bool = True, gomaxprocs: int | None = None,
                 taskset: str | None = None, args=(), binary: str | Path | None = None, start_timeout: float = 60):
        if key not in KEY_TYPES:
            raise TLSLabError("tlsserver", f"unknown key type {key!r}; choose one of {', '.join(KEY_TYPES)}")
        self.key, self.tickets = key, tickets
        self.binary = Path(binary) if binary else lab_binaries()[0]
        self.args = list(args)
        self.cert_path: Path | None = None
        self.counters_path: Path | None = None
        self.counters = pd.DataFrame()      # filled by stop(): see read_counters
        port, admin = free_port(), free_port()
        env = {"GOMAXPROCS": str(gomaxprocs)} if gomaxprocs else {}
        super().__init__(self._command, url=f"https://127.0.0.1:{port}", admin_url=f"http://127.0.0.1:{admin}",
                         ready_path="/healthz", env=env, taskset=taskset, start_timeout=start_timeout,
                         name="tlsserver", log_to_file=True)
        self.log = deque()      # unbounded: every handshake error line is counted after stop()

    def _command(self, workdir: Path) -> list[str]:
        self.cert_path = workdir / "cert.pem"
        self.counters_path = workdir / "counters.jsonl"
        return [str(self.binary), "-addr", self.url.removeprefix("https://"),
                "-admin-addr", self.admin_url.removeprefix("http://"), "-key", self.key,
                f"-session-tickets={'true' if self.tickets else 'false'}", "-cert-out", str(self.cert_path),
                "-counters-out", str(self.counters_path), "-counters-every", "100ms", "-mem-profile-rate", str(MEM_PROFILE_RATE), *self.args]

    def start(self) -> "TLSLabServer":
        super().start()
        if not (self.cert_path and self.cert_path.is_file()):
            self.stop()
            raise TLSLabError(self.binary, "the server did not write its certificate")
        return self

    def latest_counters(self) -> dict:
        """The counters file's newest complete line while the server runs ({} before the first): a line
        still being written is passed over."""
        try:
            lines = self.counters_path.read_bytes().splitlines(keepends=True) if self.counters_path else []
        except OSError:
            return {}
        for line in reversed(lines):
            if line.endswith(b"\n"):
                try:
                    return json.loads(line)
                except ValueError:
                    return {}
        return {}

    @property
    def handshake_errors(self) -> Counter:
        return count_handshake_errors(self.output())

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> int | None:
        """Stop, then keep the counters file (it lives in the temporary directory stop removes)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.counters_path is not None and self.counters_path.is_file():
            self.counters = read_counters(self.counters_path)
        return super().stop(timeout, sig)


def read_counters(path: str | Path) -> pd.DataFrame:
    """A ``tlsserver -counters-out`` file: columns t, connections, handshakes_full, handshakes_resumed, signatures,
    errors_eof/reset/timeout/other, requests, cpu_seconds. TLSLabError naming the file when unreadable."""
    try:
        rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
        frame = pd.DataFrame(rows, columns=COUNTER_COLUMNS, dtype="float64")
    except OSError as e:
        raise TLSLabError(path, f"cannot read the server's counters ({e.strerror})") from None
    except (ValueError, TypeError) as e:
        raise TLSLabError(path, f"not a counters file ({e})") from None
    if frame.isna().any().any():
        raise TLSLabError(path, "not a counters file (missing fields)")
    return frame.sort_values("t", kind="mergesort").reset_index(drop=True)
