"""Collect a debug archive from a Go server's /debug/pprof/ endpoint.

Writes the Fleet archive layout (profile, heap, allocs, goroutine, block,
mutex, threadcreate, trace, cmdline, errors), so every perfkit view reads it.
``errors`` holds what went wrong during collection (a JSON list).
"""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import PerfkitError
from ..fileio import write_bytes
from .archive import DebugArchive, load_archive
from .pprof import decode_profile
from .runtime_trace import detect_trace

SNAPSHOTS = ("heap", "allocs", "goroutine", "block", "mutex", "threadcreate")


class CollectError(PerfkitError):
    """The endpoint could not be reached or is not a Go pprof endpoint."""


@dataclass
class Step:
    name: str
    path: str
    seconds: float = 0.0     # how long the server records (profile, trace)


def _silent(msg: str) -> None:
    pass


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def _base(url: str) -> str:
    u = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise CollectError(url, "expected an http(s) URL such as http://127.0.0.1:6060")
    path = u.path.rstrip("/")
    if not path.endswith("/debug/pprof"):
        path += "/debug/pprof"
    return urllib.parse.urlunsplit((u.scheme, u.netloc, path, "", ""))


def _get(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        body = e.read()[:200].decode("utf-8", "replace").strip()
        raise CollectError(url, f"HTTP {e.code}{': ' + body if body else ''}") from None
    except urllib.error.URLError as e:
        raise CollectError(url, f"cannot connect ({e.reason})") from None
    except (TimeoutError, OSError) as e:
        raise CollectError(url, f"request failed ({e})") from None


def collect(url: str, out_dir: str | os.PathLike, *, cpu_seconds: float = 10, trace_seconds: float = 1,
            timeout: float = 30, force: bool = False, progress: Callable[[str], None] | bool | None = None,
            steps: tuple[str, ...] | None = None, gc: bool = False) -> DebugArchive:
    """Pull a debug archive into ``out_dir`` and load it.

    ``gc``: ask the server for a garbage collection before the heap snapshot (``heap?gc=1``), so the heap
    and allocs profiles describe the moment of collection; by default they are as of the server's last
    completed GC cycles, which on a quiet server can be seconds or minutes old.

    ``progress``: a callable for progress lines, False for none, default stderr.

    ``timeout`` bounds each request beyond the time the server records for.
    ``out_dir`` must be new or empty unless ``force``; files are written
    atomically. Raises CollectError when there is no pprof endpoint.
    """
    if progress is False:
        say = _silent
    elif callable(progress):
        say = progress
    else:
        say = _stderr
    base = _base(url)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CollectError(out, "output exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise CollectError(out, "output directory is not empty (pass force=True / --force to overwrite files)")
    # is this a Go pprof endpoint at all?
    index = _get(base + "/", timeout).decode("utf-8", "replace")
    if "goroutine" not in index or "heap" not in index:
        raise CollectError(base + "/", "does not look like a Go net/http/pprof index")
    out.mkdir(parents=True, exist_ok=True)
    plan = [Step(n, "heap?gc=1" if gc and n == "heap" else n) for n in SNAPSHOTS] + [
        Step("profile", f"profile?seconds={cpu_seconds:g}", cpu_seconds),
        Step("trace", f"trace?seconds={trace_seconds:g}", trace_seconds),
        Step("cmdline", "cmdline"),
    ]
    if steps is not None:
        plan = [s for s in plan if s.name in steps]
    problems: list[str] = []
    t_all = time.monotonic()
    for i, st in enumerate(plan, 1):
        t0 = time.monotonic()
        what = f"[{i}/{len(plan)}] {st.name}" + (f" ({st.seconds:g} s)" if st.seconds else "")
        say(f"{what} ...")
        try:
            data = _get(f"{base}/{st.path}", timeout + st.seconds)
            src = f"{base}/{st.path}"
            if st.name == "trace":
                detect_trace(data, src)
            elif st.name != "cmdline":
                decode_profile(data, source=src, allow_empty=True)
            write_bytes(out / st.name, data)
            say(f"{what} {len(data):,} bytes in {time.monotonic() - t0:.1f} s")
        except PerfkitError as e:
            problems.append(str(e))
            say(f"{what} failed: {e.problem}")
    write_bytes(out / "errors", json.dumps(problems, indent=1).encode())
    say(f"collected {len(plan) - len(problems)}/{len(plan)} files into {out} in {time.monotonic() - t_all:.1f} s")
    return load_archive(out)
