"""What platform and Go runtime a profile's stacks reveal."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..model.profile import Profile

_GOOS = ("darwin", "linux", "windows", "freebsd", "openbsd", "netbsd", "solaris", "illumos", "aix", "plan9")
_GOARCH = ("amd64", "arm64", "386", "arm", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64", "wasm")
_OS_FILE = re.compile(r"/runtime/(?:sys|os|defs|signal|netpoll)_(%s)[_.]" % "|".join(_GOOS))
_OS_FN = {"runtime.kevent": "darwin/BSD (kqueue)", "runtime.epollwait": "linux (epoll)",
          "runtime.libcCall": "darwin (libc syscalls)"}
_ARCH_FILE = re.compile(r"_(%s)\.s$" % "|".join(_GOARCH))
_GOROOT = re.compile(r"^(.*?/(?:go|golang)(?:[-/@](\d+\.\d+(?:\.\d+)?))?(?:/libexec)?)/src/runtime/")


@dataclass(frozen=True)
class RuntimeInfo:
    """The platform and Go runtime a profile's stacks reveal; None where they do not say."""

    goos: str | None
    goos_evidence: tuple[str, ...]       # file names (and OS-specific functions) it was read from
    goarch: str | None
    goarch_evidence: tuple[str, ...]
    go_version: str | None
    goroot: str | None
    homebrew: bool                        # GOROOT is a Homebrew install

    def same_build(self, other: RuntimeInfo) -> bool:
        """Same GOOS, GOARCH and Go version (profiles then compare function by function)."""
        return (self.goos, self.goarch, self.go_version) == (other.goos, other.goarch, other.go_version)


def runtime_info(profile: Profile) -> RuntimeInfo:
    """GOOS, GOARCH, Go version and GOROOT as far as file names and functions tell.

    Each answer comes with the evidence it was read from; None when the
    stacks do not say.
    """
    files = [f for f in set(profile.fn_filename) if f]
    names = set(profile.fn_name)
    goos = Counter(m.group(1) for f in files for m in [_OS_FILE.search(f)] if m)
    arch = Counter(m.group(1) for f in files for m in [_ARCH_FILE.search(f)] if m)
    roots = Counter((m.group(1), m.group(2)) for f in files for m in [_GOROOT.search(f)] if m)
    goroot, version = roots.most_common(1)[0][0] if roots else (None, None)
    os_fns = sorted(n for n in names if n in _OS_FN)
    return RuntimeInfo(
        goos=goos.most_common(1)[0][0] if goos else None,
        goos_evidence=tuple(sorted(f.rsplit("/", 1)[-1] for f in files if _OS_FILE.search(f))[:5] + os_fns),
        goarch=arch.most_common(1)[0][0] if arch else None,
        goarch_evidence=tuple(sorted({f.rsplit("/", 1)[-1] for f in files if _ARCH_FILE.search(f)})[:5]),
        go_version=version,
        goroot=goroot,
        homebrew=bool(goroot and "/Cellar/" in goroot),
    )
