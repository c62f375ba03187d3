"""Build and run the project's wordgame server on loopback, for tests, load and notebooks."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

from ..errors import PerfkitError, ToolMissingError
from ..paths import repo_root

_SIGTERM = signal.SIGTERM   # the class below has a method named `signal`

DEFAULT_WORDS = ("APPLE", "BANANA", "CHERRY", "ORANGE", "PYTHON", "GOPHER", "KERNEL", "SOCKET")


class WordgameError(PerfkitError):
    """The wordgame server could not be built, started or stopped."""


def go_binary() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise ToolMissingError("go", "the Go toolchain is needed to build the wordgame server "
                               "(Debian: apt-get install golang-go, or https://go.dev/dl)")
    return go


def build_binary(out: str | os.PathLike | None = None, *, force: bool = False) -> Path:
    """`go build` the server into bin/wordgame (skipped when up to date)."""
    root = repo_root()
    src = root / "wordgame"
    if not (src / "go.mod").exists():
        raise WordgameError(src, "the wordgame Go module is missing")
    out = Path(out) if out else root / "bin" / "wordgame"
    newest = max((p.stat().st_mtime for p in src.rglob("*") if p.suffix in (".go", ".mod", ".sum")), default=0)
    if not force and out.exists() and out.stat().st_mtime >= newest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([go_binary(), "build", "-o", str(out), "./cmd/wordgame"], cwd=src,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise WordgameError(src, f"go build failed: {r.stderr.strip()[-2000:]}")
    return out


class WordgameServer:
    """A wordgame server process on 127.0.0.1 with free ports.

    Use as a context manager. ``url`` is the public base URL, ``admin_url``
    the admin one (metrics, pprof, health). ``words`` become the dictionary
    (a one-word dictionary makes every secret known). ``args`` and ``env``
    pass extra flags / environment (e.g. ``["-game-ttl", "2s"]``).
    """

    def __init__(self, words=DEFAULT_WORDS, *, args=(), env=None, binary=None, start_timeout: float = 30.0,
                 taskset: str | None = None):
        self.words = list(words)
        self.args = list(args)
        self.env = dict(env or {})
        self.binary = Path(binary) if binary else None
        self.start_timeout = start_timeout
        self.taskset = taskset
        self.proc: subprocess.Popen | None = None
        self.url = self.admin_url = ""
        self.log: deque[str] = deque(maxlen=20000)
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._reader: threading.Thread | None = None
        self.returncode: int | None = None
        self.ports: tuple[int, int] = (0, 0)     # public, admin: 0 picks free ports

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "WordgameServer":
        binary = self.binary or build_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="wordgame-")
        dict_path = Path(self._tmp.name) / "words.txt"
        dict_path.write_text("\n".join(self.words) + "\n")
        cmd = [str(binary), "-addr", "127.0.0.1", "-port", str(self.ports[0]), "-admin-port", str(self.ports[1]),
               "-dict", str(dict_path), *self.args]
        if self.taskset:
            cmd = ["taskset", "-c", self.taskset, *cmd]
        env = {**os.environ, **self.env}
        env.pop("PORT", None) if "PORT" not in self.env else None
        env.pop("ADMIN_PORT", None) if "ADMIN_PORT" not in self.env else None
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=self._tmp.name, env=env)
        ready = threading.Event()

        def read():
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.log.append(line.rstrip("\n"))
                if not ready.is_set() and "public_addr" in line:
                    try:
                        rec = json.loads(line)
                        self.url = "http://" + rec["public_addr"]
                        self.admin_url = "http://" + rec["admin_addr"]
                        self.ports = (int(rec["public_addr"].rsplit(":", 1)[1]),
                                      int(rec["admin_addr"].rsplit(":", 1)[1]))
                        ready.set()
                    except (ValueError, KeyError):
                        pass
        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and not ready.is_set() and self.proc.poll() is None:
            ready.wait(0.05)
        if not ready.is_set():
            self.stop(timeout=5)
            raise WordgameError(binary, "server did not report its addresses: " + " | ".join(list(self.log)[-5:]))
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.admin_url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if not self.alive:
                break
            time.sleep(0.05)
        raise WordgameError(self.url, "server is not ready: " + " | ".join(list(self.log)[-5:]))

    def crash(self):
        """The parsed crash in the server's output (panic or fatal error), else None."""
        from ..formats.goroutine_text import parse_crash
        return parse_crash("\n".join(self.log), source=f"wordgame pid {self.pid}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0, sig: int = _SIGTERM) -> int | None:
        """Stop (SIGTERM, then SIGKILL after timeout) and return the exit code."""
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
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None
        return self.returncode

    def kill(self) -> int | None:
        """SIGKILL, as a crash would."""
        return self.stop(timeout=5, sig=signal.SIGKILL)

    def restart(self) -> "WordgameServer":
        """Stop if needed and start again on the same ports (a crash-and-restart)."""
        self.stop()
        return self.start()

    def __enter__(self) -> "WordgameServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<WordgameServer {self.url or 'not started'} pid={self.pid}>"
