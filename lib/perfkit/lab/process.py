"""Build and run a Go server process on loopback: for tests, load, chaos and notebooks.

The binary comes from the caller (an argument, typically read from an
environment variable by the application's own wrapper), or is built on demand
with ``go build`` from a source directory the caller names, into a cache
directory. A crash in the process's output (panic, fatal error) is parsed with
:func:`perfkit.formats.goroutine_text.parse_crash`.
"""
from __future__ import annotations

import hashlib
import os
import signal as _signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from ..toolchain import find_go
from ..errors import PerfkitError
from ..formats.goroutine_text import parse_crash
from .ports import port_open

CACHE_ENV = "PERFKIT_LAB_CACHE"

__all__ = ["ServerProcessError", "GoServer", "build_go_binary", "lab_cache_dir"]


class ServerProcessError(PerfkitError):
    """A server process could not be built, started or stopped."""


def lab_cache_dir() -> Path:
    """Where binaries built on demand go: ``$PERFKIT_LAB_CACHE``, else ``$XDG_CACHE_HOME/perfkit-lab``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "perfkit-lab"


def _source_digest(src: Path, package: str, env: dict | None) -> str:
    """A digest of everything a ``go build`` reads from ``src`` (Go files, go.mod, go.sum), the package
    and the extra environment: two checkouts with different sources never share a binary."""
    h = hashlib.sha256(f"{package}\0{sorted((env or {}).items())}\0".encode())
    for p in sorted(p for p in src.rglob("*") if p.suffix in (".go", ".mod", ".sum") and p.is_file()):
        h.update(str(p.relative_to(src)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build_go_binary(src: str | os.PathLike, package: str = ".", out: str | os.PathLike | None = None, *,
                    force: bool = False, env: dict | None = None, timeout: float = 600) -> Path:
    """``go build`` ``package`` of the Go module in ``src``. Without ``out`` the binary goes to the
    lab cache in a directory named by a digest of the sources, and an existing one is reused; with ``out``
    it is rebuilt unless a stamp next to it records the same digest. Built into a temporary file
    and renamed, so concurrent builds never see a half-written binary."""
    src = Path(src)
    if not (src / "go.mod").is_file():
        raise ServerProcessError(src, "no go.mod: not a Go module source directory")
    digest = _source_digest(src, package, env)
    name = Path(package).name if package not in (".", "") else src.resolve().name
    out = Path(out) if out else lab_cache_dir() / "bin" / digest / name
    stamp = out.with_name(out.name + ".digest")
    if not force and out.exists() and stamp.exists() and stamp.read_text() == digest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    r = subprocess.run([find_go(), "build", "-o", str(tmp), package], cwd=src, capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, **(env or {})})
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ServerProcessError(src, f"go build failed: {r.stderr.strip()[-2000:]}")
    os.replace(tmp, out)
    stamp.write_text(digest)
    return out


class GoServer:
    """A server process on 127.0.0.1, its output kept in :attr:`log` (the last lines).

    ``command(workdir)`` returns the argv (it may write files such as a
    dictionary into ``workdir``, a fresh temp directory per start).
    ``addresses(line)`` is called on every output line until it returns
    ``(url, admin_url)``: the server says where it listens. Without it, give
    ``url`` (and ``admin_url``) and the server is ready when the port accepts.
    ``ready_path`` (on ``admin_url``, else ``url``) must answer 200 before
    :meth:`start` returns. ``taskset`` pins the process to CPUs (``"0"``),
    ``env`` adds environment variables. ``log_to_file``: the output goes to a
    file in the temp directory instead of a pipe, so a chatty server never
    waits for the reader (needs ``url``). Use as a context manager.
    """

    def __init__(self, command: Callable[[Path], Sequence[str]], *, addresses: Callable[[str], tuple | None] | None
                 = None, url: str = "", admin_url: str = "", ready_path: str | None = None, env: dict | None = None,
                 taskset: str | None = None, start_timeout: float = 30.0, name: str = "server",
                 log_to_file: bool = False):
        if log_to_file and addresses is not None:
            raise ValueError("log_to_file needs a known url instead of addresses()")
        self.command = command
        self.addresses = addresses
        self.url, self.admin_url = url, admin_url
        self.ready_path = ready_path
        self.env = dict(env or {})
        self.taskset = taskset
        self.start_timeout = start_timeout
        self.name = name
        self.log_to_file = log_to_file
        self._log_path: Path | None = None
        self._log_file = None
        self.proc: subprocess.Popen | None = None
        self.log: deque[str] = deque(maxlen=20000)
        self.returncode: int | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "GoServer":
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{self.name}-")
        cmd = [str(c) for c in self.command(Path(self._tmp.name))]
        if self.taskset:
            cmd = ["taskset", "-c", self.taskset, *cmd]
        self.log.clear()
        if self.log_to_file:
            self._log_path = Path(self._tmp.name) / "server.log"
            self._log_file = open(self._log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file or subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, cwd=self._tmp.name, env={**os.environ, **self.env})
        if self.log_to_file:
            self.wait_ready(self.start_timeout)
            return self
        found = threading.Event()
        if self.addresses is None:
            found.set()

        def read():
            for line in self.proc.stdout:
                self.log.append(line.rstrip("\n"))
                if not found.is_set():
                    addr = self.addresses(line)
                    if addr:
                        self.url, self.admin_url = addr
                        found.set()
        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and not found.is_set() and self.proc.poll() is None:
            found.wait(0.05)
        if not found.is_set():
            self.stop(timeout=5)
            raise ServerProcessError(cmd[0], "server did not report its addresses: " + self.tail())
        self.wait_ready(max(1.0, deadline - time.monotonic()))
        return self

    def tail(self, n: int = 5) -> str:
        return " | ".join(self.output().splitlines()[-n:])

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Until ``ready_path`` answers 200 (or, without one, the port accepts connections)."""
        deadline = time.monotonic() + timeout
        base = self.admin_url or self.url
        while time.monotonic() < deadline:
            if self.ready_path is None:
                if port_open(self.url, 0.2):
                    return
            else:
                try:
                    with urllib.request.urlopen(base + self.ready_path, timeout=1) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
            if not self.alive:
                break
            time.sleep(0.05)
        self.stop(timeout=5)
        raise ServerProcessError(self.url, "server is not ready: " + self.tail())

    def output(self) -> str:
        """The process's output so far (its last lines when read through the pipe)."""
        if self._log_path is not None:
            try:
                return self._log_path.read_text(errors="replace")
            except OSError:
                return ""
        return "\n".join(self.log)

    def crash(self):
        """The parsed crash in the server's output (panic or fatal error), else None."""
        return parse_crash(self.output(), source=f"{self.name} pid {self.pid}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` (e.g. ``signal.SIGTERM``) if the process runs."""
        if self.alive:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0, sig: int = _signal.SIGTERM) -> int | None:
        """Stop (``sig``, then SIGKILL after ``timeout``) and return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        if self._reader:
            self._reader.join(2)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
            self.log.extend(self.output().splitlines())     # kept after the temp directory is gone
            self._log_path = None
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None
        return self.returncode

    def kill(self) -> int | None:
        """kill -9, as a crash would."""
        return self.stop(timeout=5, sig=_signal.SIGKILL)

    def restart(self) -> "GoServer":
        """Stop if needed and start again (a crash-and-restart)."""
        self.stop()
        return self.start()

    def __enter__(self) -> "GoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url or 'not started'} pid={self.pid}>"
