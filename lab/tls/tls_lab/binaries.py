"""Find or build the lab's two Go programs: the HTTPS server and the host simulator.

The Go module is ``src``, else ``$TLSLAB_SRC``, else the ``lab/tls`` module this
package sits in when it is installed editable from a checkout. Binaries go to
perfkit.lab's cache, keyed by a digest of the sources.
"""
from __future__ import annotations

import os
from pathlib import Path

from perfkit.errors import PerfkitError
from perfkit.lab import build_go_binary

SRC_ENV = "TLSLAB_SRC"

__all__ = ["TLSLabError", "SRC_ENV", "lab_source", "lab_binaries"]


class TLSLabError(PerfkitError):
    """The TLS lab could not be built, started or run, or its output is not what it should be."""


def lab_source(src: str | os.PathLike | None = None) -> Path:
    """The lab's Go module: ``src``, else ``$TLSLAB_SRC``, else the checkout's ``lab/tls``."""
    given = src or os.environ.get(SRC_ENV)
    cand = Path(given) if given else Path(__file__).resolve().parents[1]
    if (cand / "go.mod").is_file() and (cand / "cmd" / "tlsserver").is_dir() and (cand / "cmd" / "hostsim").is_dir():
        return cand
    raise TLSLabError(given or cand, f"not the TLS lab Go module (needs go.mod, cmd/tlsserver and cmd/hostsim); "
                      f"pass src= or set {SRC_ENV}")


def lab_binaries(src: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """(tlsserver, hostsim), built when missing or out of date."""
    root = lab_source(src)
    return build_go_binary(root, "./cmd/tlsserver"), build_go_binary(root, "./cmd/hostsim")
