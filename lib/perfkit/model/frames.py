"""What a Go function name says: its package, and whether a frame is runtime plumbing."""
from __future__ import annotations

import re

_PKG_RE = re.compile(r"^((?:[^/]*/)*[^./]*(?:\.v\d+)?)[.]")   # gopkg.in/yaml.v2 keeps its .v2


def package_of(name: str) -> str:
    """Package of a function name: 'net/http.(*conn).serve' -> 'net/http'."""
    if not name:
        return name
    if name.startswith("type:.") or name.startswith("type.."):
        return "runtime"
    if "::" in name and "/" not in name:            # C++
        return name.split("::", 1)[0]
    m = _PKG_RE.match(name)
    return m.group(1) if m else name


# frames that say *how* a goroutine waits, not *where* in the program
_PLUMBING = ("runtime", "internal/poll", "sync", "syscall", "internal/")


def is_plumbing(name: str) -> bool:
    """A frame of the runtime, poller, sync or syscall machinery."""
    pkg = package_of(name)
    return pkg.startswith(_PLUMBING) or pkg in ("sync/atomic",)


def wait_site(frames: tuple[str, ...]) -> str:
    """Where a goroutine waits: its first frame (leaf first) outside the plumbing, else its root frame."""
    return next((f for f in frames if not is_plumbing(f)), frames[-1] if frames else "")
