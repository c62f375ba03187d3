"""The deliberately defective reference server (tests/data/defective-wordgame), built and run on loopback.

It reproduces the original's documented defects so the black-box suite can
prove it finds them. Never use it for anything else.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from ..paths import repo_root
from .client import port_open
from .server import WordgameError, go_binary
from ..ports import free_port


def source_dir() -> Path:
    return repo_root() / "tests" / "data" / "defective-wordgame"


def build(out: str | os.PathLike | None = None) -> Path:
    src = source_dir()
    out = Path(out) if out else repo_root() / "bin" / "defective-wordgame"
    newest = max(p.stat().st_mtime for p in src.glob("*") if p.is_file())
    if out.exists() and out.stat().st_mtime >= newest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([go_binary(), "build", "-o", str(out), "."], cwd=src, capture_output=True, text=True,
                       timeout=300, env={**os.environ, "GOFLAGS": "-mod=mod"})
    if r.returncode != 0:
        raise WordgameError(src, "go build failed: " + r.stderr[-2000:])
    return out



class DefectiveServer:
    """Context manager: the defective server with a one-word dictionary (``word``)."""

    def __init__(self, word: str = "GOPHER"):
        self.word = word
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.log_path: Path | None = None

    def start(self) -> "DefectiveServer":
        binary = build()
        self._tmp = tempfile.TemporaryDirectory(prefix="defective-wordgame-")
        (Path(self._tmp.name) / "words.txt").write_text(self.word + "\n")
        port = free_port()
        self.log_path = Path(self._tmp.name) / "server.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(binary)], cwd=self._tmp.name, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PORT": str(port), "ADDR": "127.0.0.1"})
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while not port_open(self.url, 0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise WordgameError(binary, "defective server did not start: " + self.log())
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def crash(self):
        """The parsed crash (fatal error + goroutines) if the process died with one, else None."""
        from ..formats.goroutine_text import parse_crash
        return parse_crash(self.log(), source=str(self.log_path))

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._tmp:
            self._log.close()
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
