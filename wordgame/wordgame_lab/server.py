"""The wordgame server on loopback, for tests, load, chaos and notebooks.

The binary is, in this order: the ``binary`` argument, ``$WORDGAME_BIN``, or
built on demand (``go build``, into perfkit.lab's cache directory) from the Go
module given by ``src``, ``$WORDGAME_SRC``, or the ``wordgame/`` module this
package sits in when it is installed editable from a checkout.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from perfkit.errors import PerfkitError
from perfkit.lab import GoServer, build_go_binary

BIN_ENV, SRC_ENV = "WORDGAME_BIN", "WORDGAME_SRC"
DEFAULT_WORDS = ("APPLE", "BANANA", "CHERRY", "ORANGE", "PYTHON", "GOPHER", "KERNEL", "SOCKET")

__all__ = ["WordgameError", "WordgameServer", "DEFAULT_WORDS", "BIN_ENV", "SRC_ENV", "source_dir", "build_binary",
           "find_binary"]


class WordgameError(PerfkitError):
    """The wordgame server could not be found, built, started or stopped."""


def source_dir(src: str | os.PathLike | None = None) -> Path:
    """The wordgame Go module: ``src``, else ``$WORDGAME_SRC``, else the checkout's ``wordgame/``."""
    given = src or os.environ.get(SRC_ENV)
    cand = Path(given) if given else Path(__file__).resolve().parents[1]
    if (cand / "go.mod").is_file() and (cand / "cmd" / "wordgame").is_dir():
        return cand
    if given:
        raise WordgameError(given, "not the wordgame Go module (no go.mod and cmd/wordgame)")
    raise WordgameError("wordgame", f"no server binary: pass binary= or set {BIN_ENV}, or pass src= or set "
                        f"{SRC_ENV} to the wordgame Go module to build it")


def build_binary(src: str | os.PathLike | None = None, out: str | os.PathLike | None = None, *,
                 force: bool = False) -> Path:
    """``go build`` the server (skipped when up to date) into ``out`` (default: the lab cache)."""
    return build_go_binary(source_dir(src), "./cmd/wordgame", out,
                           force=force)


def find_binary(binary: str | os.PathLike | None = None, src: str | os.PathLike | None = None) -> Path:
    """``binary``, else ``$WORDGAME_BIN``, else :func:`build_binary` from ``src``."""
    b = binary or os.environ.get(BIN_ENV)
    if b:
        if not Path(b).is_file():
            raise WordgameError(b, "no such wordgame binary")
        return Path(b)
    return build_binary(src)


class WordgameServer(GoServer):
    """A wordgame server process on 127.0.0.1 with free ports (kept across :meth:`restart`).

    ``url`` is the public base URL, ``admin_url`` the admin one (metrics,
    pprof, health). ``words`` become the dictionary (a one-word dictionary
    makes every secret known). ``args`` and ``env`` pass extra flags and
    environment (e.g. ``["-game-ttl", "2s"]``); ``taskset`` pins it to CPUs. The drain delay on
    SIGTERM defaults to 0 here (``WORDGAME_DRAIN_DELAY=0s``), so that stopping a test server is quick;
    pass ``args=["-drain-delay=1s"]`` for the production behaviour.
    """

    def __init__(self, words=DEFAULT_WORDS, *, args=(), env=None, binary=None, src=None,
                 start_timeout: float = 30.0, taskset: str | None = None):
        self.words = list(words)
        self.args = list(args)
        self.binary = find_binary(binary, src)
        self.ports: tuple[int, int] = (0, 0)     # public, admin: 0 picks free ports
        # PORT / ADMIN_PORT from the caller's environment would override the flags' free ports
        env = {"PORT": "", "ADMIN_PORT": "", "WORDGAME_ADMIN_ADDR": "", "WORDGAME_DRAIN_DELAY": "0s", **(env or {})}
        super().__init__(self._command, addresses=self._addresses, ready_path="/readyz", env=env, taskset=taskset,
                         start_timeout=start_timeout, name="wordgame")

    def _command(self, workdir: Path) -> list[str]:
        dict_path = workdir / "words.txt"
        dict_path.write_text("\n".join(self.words) + "\n")
        return [str(self.binary), "-addr", "127.0.0.1", "-port", str(self.ports[0]), "-admin-port",
                str(self.ports[1]), "-dict", str(dict_path), *self.args]

    def _addresses(self, line: str):
        if "public_addr" not in line:
            return None
        try:
            rec = json.loads(line)
            pub, adm = rec["public_addr"], rec["admin_addr"]
        except (ValueError, KeyError, TypeError):
            return None
        self.ports = (int(pub.rsplit(":", 1)[1]), int(adm.rsplit(":", 1)[1]))
        return "http://" + pub, "http://" + adm
