"""The deliberately defective reference server (Go source in ``defective_src/``, its own Go module),
built on demand into perfkit.lab's cache directory and run on loopback.

It reproduces the original's documented defects so the black-box suite can
prove it finds them. Never use it for anything else.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

from perfkit.lab import GoServer, build_go_binary, free_port

SOURCE_DIR = Path(__file__).resolve().parent / "defective_src"

__all__ = ["DefectiveServer", "build_defective", "SOURCE_DIR"]


def build_defective(out: str | os.PathLike | None = None) -> Path:
    """``go build`` the defective server (skipped when up to date)."""
    return build_go_binary(SOURCE_DIR, ".", out,
                           env={"GOFLAGS": "-mod=mod"}, timeout=300)


class DefectiveServer(GoServer):
    """Context manager: the defective server with a one-word dictionary (``word``)."""

    def __init__(self, word: str = "GOPHER", *, binary: str | os.PathLike | None = None):
        self.word = word
        self.binary = Path(binary) if binary else build_defective()
        port = free_port()
        super().__init__(self._command, url=f"http://127.0.0.1:{port}", env={"PORT": str(port), "ADDR": "127.0.0.1"},
                         start_timeout=10, name="defective-wordgame", log_to_file=True)

    def _command(self, workdir: Path) -> list[str]:
        (workdir / "words.txt").write_text(self.word + "\n")
        return [str(self.binary)]

    def stop(self, timeout: float = 5.0, sig=None) -> int | None:
        """kill -9: the defective server has no graceful shutdown."""
        return super().stop(timeout=timeout, sig=signal.SIGKILL if sig is None else sig)
