"""Go/Fleet debug archives: a directory or a .tar.gz of pprof endpoints' output.

Nothing is ever extracted to disk: tar members are read into memory after
their names were checked, so a hostile archive cannot write anywhere.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..errors import ArchiveError, PerfkitError, ProfileError
from ..model.profile import Profile
from ..style import format_value
from .pprof import decode_profile
from .runtime_trace import TraceFile, detect_trace

PROFILE_KINDS = ("profile", "heap", "allocs", "goroutine", "block", "mutex", "threadcreate")
OTHER_KINDS = ("trace", "cmdline", "errors")
# names seen in the wild for the same endpoints
_ALIASES = {"cpu": "profile", "cpu.pprof": "profile", "profile.pb.gz": "profile"}
_SUFFIXES = (".pb.gz", ".pprof", ".pb", ".gz", ".json", ".out", ".txt", ".bin")
MAX_MEMBER = 2 << 30

try:                                      # the decompressors raise their own error types
    from lzma import LZMAError
except ImportError:                       # Python built without lzma: tarfile cannot open .xz
    LZMAError = OSError
_TAR_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, LZMAError)


def kind_of(name: str) -> str | None:
    base = PurePosixPath(name).name.lower()
    if base in _ALIASES:
        return _ALIASES[base]
    for suf in _SUFFIXES:
        if base.endswith(suf) and base[: -len(suf)] in PROFILE_KINDS + OTHER_KINDS:
            return base[: -len(suf)]
    return base if base in PROFILE_KINDS + OTHER_KINDS else None


@dataclass
class ArchiveFile:
    name: str
    kind: str | None
    size: int
    profile: Profile | None = None
    trace: TraceFile | None = None
    error: str | None = None


@dataclass
class DebugArchive:
    """Every file of one debug archive, parsed."""
    source: str
    files: list[ArchiveFile]
    cmdline: list[str] | None = None
    errors: object = None
    problems: list[str] = field(default_factory=list)

    # -- access -------------------------------------------------------------
    @property
    def profiles(self) -> dict[str, Profile]:
        return {f.kind: f.profile for f in self.files if f.profile is not None}

    @property
    def trace(self) -> TraceFile | None:
        return next((f.trace for f in self.files if f.trace is not None), None)

    @property
    def unknown(self) -> list[str]:
        return [f.name for f in self.files if f.kind is None]

    def __getitem__(self, kind: str) -> Profile:
        kind = _ALIASES.get(kind, kind)
        if kind == "cpu":
            kind = "profile"
        p = self.profiles.get(kind)
        if p is None:
            have = ", ".join(self.profiles) or "none"
            raise ArchiveError(self.source, f"no readable {kind!r} profile in this archive (have: {have})")
        return p

    def __contains__(self, kind: str) -> bool:
        return kind in self.profiles

    @property
    def cpu(self) -> Profile:
        return self["profile"]

    # -- one-glance summary --------------------------------------------------
    def summary(self) -> pd.DataFrame:
        rows = []
        for f in self.files:
            row = {"file": f.name, "kind": f.kind or "unknown", "bytes": f.size,
                   "sample_types": "", "totals": "", "samples": np.nan, "duration_s": np.nan,
                   "time": None, "status": "ok" if f.error is None else f"error: {f.error}"}
            p = f.profile
            if p is not None:
                row["sample_types"] = ", ".join(str(t) for t in p.sample_types)
                row["totals"] = ", ".join(f"{t.type}={format_value(p.total(i), t.unit)}"
                                          for i, t in enumerate(p.sample_types))
                row["samples"] = p.n_samples
                row["duration_s"] = round(p.duration_seconds, 3) if p.duration_nanos else np.nan
                row["time"] = p.time
                if p.is_empty:
                    row["status"] = "ok (no samples)"
            elif f.trace is not None:
                row["sample_types"] = f"go {f.trace.version} trace"
            elif f.kind == "cmdline" and self.cmdline is not None:
                row["totals"] = " ".join(self.cmdline)
            elif f.kind == "errors" and f.error is None:
                n = len(self.errors) if isinstance(self.errors, (list, dict)) else 1
                row["totals"] = f"{n} entries"
            elif f.kind is None:
                row["status"] = "unknown file (not read)"
            rows.append(row)
        df = pd.DataFrame(rows)
        df["samples"] = df["samples"].astype("Int64")
        return df

    def _repr_html_(self) -> str:
        return f"<p><b>{self.source}</b></p>" + self.summary().to_html(index=False, na_rep="")

    def __repr__(self) -> str:
        return f"<DebugArchive {self.source}: {', '.join(f.name for f in self.files)}>"


def load_archive(path: str | os.PathLike, *, strict: bool = False) -> DebugArchive:
    """Load a debug archive directory or .tar.gz in one call.

    A file that fails to parse is reported in ``summary()`` and ``problems``;
    with strict=True its error is raised instead. Unknown files are listed,
    not read. An archive without a single readable profile is an error.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ArchiveError(p, "no such file or directory") from None
    except OSError as e:
        reason = "symlink loop" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise ArchiveError(p, f"cannot open: {reason}") from None
    if stat.S_ISDIR(st.st_mode):
        members = _dir_members(p)
    elif stat.S_ISREG(st.st_mode):
        members = _tar_members(p)
    else:
        raise ArchiveError(p, "neither a directory nor a regular file")
    arch = DebugArchive(str(p), [])
    for name, reader in members:
        arch.files.append(_read_member(arch, name, reader, strict))
    if not arch.files:
        raise ArchiveError(p, "archive is empty")
    if not arch.profiles:
        detail = "; ".join(arch.problems) if arch.problems else \
            "no file named " + ", ".join(PROFILE_KINDS)
        raise ArchiveError(p, f"no readable profile in archive ({detail})")
    order = {k: i for i, k in enumerate(PROFILE_KINDS + OTHER_KINDS)}
    arch.files.sort(key=lambda f: (order.get(f.kind, len(order)), f.name))
    return arch


def _dir_members(root: Path):
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for fn in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = Path(dirpath) / fn
            rel = full.relative_to(root).as_posix()
            out.append((rel, _file_reader(full, rel, root)))
    return out


def _file_reader(full: Path, rel: str, root: Path):
    def read() -> bytes:
        try:
            if full.is_symlink():
                target = Path(os.path.realpath(full))
                if target.is_dir():
                    raise ArchiveError(root, f"{rel}: symlink to a directory is not followed")
            return full.read_bytes()
        except OSError as e:
            reason = "symlink loop" if e.errno == errno.ELOOP else (e.strerror or str(e))
            raise ArchiveError(root, f"{rel}: cannot read ({reason})") from None
    return read


def _tar_members(path: Path):
    try:
        tf = tarfile.open(path, mode="r:*")
    except _TAR_ERRORS as e:
        raise ArchiveError(path, f"not a directory or a readable tar(.gz) archive ({e})") from None
    out = []
    try:
        members = tf.getmembers()
    except _TAR_ERRORS as e:
        raise ArchiveError(path, f"corrupt tar archive ({e})") from None
    names = [m.name for m in members if m.isfile()]
    # fleet writes its files under one top-level folder: strip it
    strip = bool(names) and all("/" in n for n in names) and len({n.split("/", 1)[0] for n in names}) == 1
    for m in members:
        name = m.name
        parts = PurePosixPath(name).parts
        if name.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
            raise ArchiveError(path, f"unsafe member path {name!r} (absolute or contains '..')")
        if m.issym() or m.islnk():
            raise ArchiveError(path, f"member {name!r} is a link; links are not allowed in debug archives")
        if m.isdir():
            continue
        if not m.isfile():
            raise ArchiveError(path, f"member {name!r} is not a regular file")
        if m.size > MAX_MEMBER:
            raise ArchiveError(path, f"member {name!r} is larger than {MAX_MEMBER >> 30} GiB")
        rel = name.split("/", 1)[1] if strip else name

        def read(m=m, name=name) -> bytes:
            try:
                f = tf.extractfile(m)
                return f.read() if f else b""
            except _TAR_ERRORS as e:
                raise ArchiveError(path, f"{name}: cannot read member ({e})") from None
        out.append((rel, read))
    return out


def _read_member(arch: DebugArchive, name: str, reader, strict: bool) -> ArchiveFile:
    kind = kind_of(name)
    if kind is None:
        return ArchiveFile(name, None, -1)
    src = f"{arch.source}/{name}"
    try:
        data = reader()
        f = ArchiveFile(name, kind, len(data))
        if kind in PROFILE_KINDS:
            f.profile = decode_profile(data, source=src, allow_empty=True)
        elif kind == "trace":
            f.trace = detect_trace(data, src)
        elif kind == "cmdline":
            arch.cmdline = _cmdline(data, src)
        elif kind == "errors":
            arch.errors = _errors_json(data, src)
        return f
    except PerfkitError as e:
        if strict:
            raise
        arch.problems.append(str(e))
        return ArchiveFile(name, kind, -1, error=e.problem)


def _cmdline(data: bytes, source: str) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(source, "cmdline is not UTF-8 text") from None
    return [a for a in text.split("\x00") if a != ""] if "\x00" in text else text.split()


def _errors_json(data: bytes, source: str):
    try:
        return json.loads(data.decode("utf-8")) if data.strip() else []
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProfileError(source, f"errors file is not JSON ({e})") from None
