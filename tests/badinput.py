"""Helpers that build bad inputs for perfkit's readers (used by test_bad_input and test_fuzz).

Everything here works on bytes in memory or writes into a directory the caller
owns (pytest's tmp_path). The Fleet archives are only ever read.
"""
from __future__ import annotations

import gzip
import io
import os
import tarfile
from functools import lru_cache
from pathlib import Path

import conftest

GZIP_MAGIC = b"\x1f\x8b"


# -- real profiles --------------------------------------------------------------

def fleet_path(archive: str, name: str) -> Path:
    return conftest.FLEET / archive / name


@lru_cache(maxsize=None)
def fleet_gz(archive: str, name: str) -> bytes:
    """A Fleet profile's bytes as stored (gzip-compressed profile.proto)."""
    return fleet_path(archive, name).read_bytes()


@lru_cache(maxsize=None)
def fleet_raw(archive: str, name: str) -> bytes:
    """A Fleet profile's uncompressed profile.proto bytes."""
    return gzip.decompress(fleet_gz(archive, name))


def fleet_message(archive: str = "pprof-normal", name: str = "goroutine"):
    """A fresh, mutable profile_pb2.Profile parsed from a Fleet profile."""
    from perfkit.proto import profile_pb2
    m = profile_pb2.Profile()
    m.ParseFromString(fleet_raw(archive, name))
    return m


def gz(data: bytes) -> bytes:
    """Deterministic gzip (mtime 0) of data."""
    return gzip.compress(data, mtime=0)


def truncated_gzip(data: bytes, keep: float = 0.5) -> bytes:
    """gzip of data cut after a fraction of its compressed bytes (header intact)."""
    z = gz(data)
    return z[: max(12, int(len(z) * keep))]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


# -- tar archives ---------------------------------------------------------------

def make_tar(path: Path, members, compress: bool = True) -> Path:
    """Write a tar(.gz) whose members are given explicitly, names unchecked.

    members: iterable of (name, spec) where spec is bytes (a regular file),
    ("symlink", target), ("hardlink", target), ("dir",) or ("fifo",).
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, spec in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            ti.mode = 0o644
            data = None
            if isinstance(spec, (bytes, bytearray)):
                data = bytes(spec)
                ti.size = len(data)
            elif spec[0] == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, spec[1]
            elif spec[0] == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, spec[1]
            elif spec[0] == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif spec[0] == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                raise ValueError(spec)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    path.write_bytes(gz(raw) if compress else raw)
    return path


def fleet_tar(path: Path, archive: str = "pprof-normal", top: str | None = "debug",
              replace: dict[str, bytes] | None = None, extra=(), compress: bool = True) -> Path:
    """A .tar.gz of a Fleet archive's files (optionally some replaced), as Fleet writes it."""
    replace = replace or {}
    members = []
    for f in sorted(os.listdir(conftest.FLEET / archive)):
        data = replace.get(f, (conftest.FLEET / archive / f).read_bytes())
        members.append((f"{top}/{f}" if top else f, data))
    members.extend(extra)
    return make_tar(path, members, compress=compress)


# -- "nothing is written" --------------------------------------------------------

def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every path below roots (symlinks not followed) with its size and mtime."""
    out: dict[str, tuple[int, int]] = {}
    for root in roots:
        root = Path(root)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            if ".hypothesis" in dirnames:
                dirnames.remove(".hypothesis")
            for n in dirnames + filenames:
                full = os.path.join(dirpath, n)
                st = os.lstat(full)
                out[full] = (st.st_size, st.st_mtime_ns)
    return out


# -- byte mutations (shared by the fuzz tests) -----------------------------------

def mutate(data: bytes, ops) -> bytes:
    """Apply mutation ops to data. Positions are fractions in [0, 1] of the current length.

    ("flip", pos, mask)         xor one byte with mask (1..255)
    ("set", pos, byte)          overwrite one byte
    ("truncate", pos)           keep data[:pos]
    ("insert", pos, bytes)      insert bytes
    ("delete", pos, n)          remove n bytes
    ("splice", pos, other, a, b) replace data[pos:] with other[a:b] (fractions of other)
    ("dup", pos, n)             duplicate n bytes in place
    """
    b = bytearray(data)
    for op in ops:
        kind = op[0]
        at = min(int(op[1] * len(b)), max(len(b) - 1, 0))
        if kind == "flip" and b:
            b[at] ^= op[2]
        elif kind == "set" and b:
            b[at] = op[2]
        elif kind == "truncate":
            del b[int(op[1] * len(b)):]
        elif kind == "insert":
            b[at:at] = op[2]
        elif kind == "delete":
            del b[at:at + op[2]]
        elif kind == "splice":
            other = op[2]
            lo, hi = sorted((int(op[3] * len(other)), int(op[4] * len(other))))
            b[at:] = other[lo:hi]
        elif kind == "dup":
            b[at:at] = b[at:at + op[2]]
    return bytes(b)


@lru_cache(maxsize=None)
def trimmed_raw(archive: str, name: str, n_samples: int = 24) -> bytes:
    """A real profile cut down to its first n samples and the tables they use.

    Small enough that decode + top stays in the milliseconds, so the mutation
    fuzzer can afford thousands of runs on real CPU/heap structure.
    """
    m = fleet_message(archive, name)
    del m.sample[n_samples:]
    locs = {lid for s in m.sample for lid in s.location_id}
    keep_locs = [loc for loc in m.location if loc.id in locs]
    fns = {ln.function_id for loc in keep_locs for ln in loc.line}
    maps = {loc.mapping_id for loc in keep_locs}
    keep_fns = [f for f in m.function if f.id in fns]
    keep_maps = [x for x in m.mapping if x.id in maps]
    for field, kept in (("location", keep_locs), ("function", keep_fns), ("mapping", keep_maps)):
        copies = [type(x)() for x in kept]
        for c, x in zip(copies, kept):
            c.CopyFrom(x)
        getattr(m, field).clear()
        getattr(m, field).extend(copies)
    _compact_strings(m)
    return m.SerializeToString()


def _compact_strings(m) -> None:
    """Drop the strings no field refers to (and renumber the references)."""
    refs = []   # (message, field name) pairs holding a string index
    for vt in list(m.sample_type) + ([m.period_type] if m.HasField("period_type") else []):
        refs += [(vt, "type"), (vt, "unit")]
    refs += [(m, "default_sample_type"), (m, "drop_frames"), (m, "keep_frames"), (m, "doc_url")]
    for f in m.function:
        refs += [(f, "name"), (f, "system_name"), (f, "filename")]
    for x in m.mapping:
        refs += [(x, "filename"), (x, "build_id")]
    for s in m.sample:
        for lb in s.label:
            refs += [(lb, "key"), (lb, "str"), (lb, "num_unit")]
    used = sorted({0} | {getattr(o, f) for o, f in refs} | set(m.comment))
    new = {old: i for i, old in enumerate(used)}
    table = [m.string_table[i] for i in used]
    for o, f in refs:
        setattr(o, f, new[getattr(o, f)])
    comments = [new[c] for c in m.comment]
    del m.comment[:]
    m.comment.extend(comments)
    del m.string_table[:]
    m.string_table.extend(table)


# -- message-level mutations of real profiles ------------------------------------
# Byte flips mostly break the protobuf framing or the UTF-8 of a string, so few
# of them reach perfkit's consistency checks or its views. These mutate one
# field of the parsed message instead, then serialize it again.

_INT_LIMITS = {"int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}


def _is_repeated(fd) -> bool:
    if hasattr(fd, "is_repeated"):          # protobuf >= 5
        return fd.is_repeated
    return fd.label == fd.LABEL_REPEATED


def _slots(msg, out: list) -> list:
    """(message, field descriptor, index or None) for every scalar value set in msg."""
    for fd, value in msg.ListFields():
        repeated = _is_repeated(fd)
        if fd.message_type is not None:
            for sub in (value if repeated else [value]):
                _slots(sub, out)
        elif repeated:
            out.extend((msg, fd, i) for i in range(len(value)))
        else:
            out.append((msg, fd, None))
    return out


def _repeated_fields(msg, out: list) -> list:
    """(message, field descriptor) for every non-empty repeated field in msg."""
    for fd, value in msg.ListFields():
        repeated = _is_repeated(fd)
        if repeated:
            out.append((msg, fd))
        if fd.message_type is not None:
            for sub in (value if repeated else [value]):
                _repeated_fields(sub, out)
    return out


def _clamp(fd, v):
    if fd.type == fd.TYPE_BOOL:
        return bool(v)
    if fd.type == fd.TYPE_STRING:
        return v if isinstance(v, str) else str(v)
    lo, hi = _INT_LIMITS["uint64" if fd.type == fd.TYPE_UINT64 else "int64"]
    if isinstance(v, str):
        v = len(v)
    return min(max(int(v), lo), hi)


def mutate_message(raw: bytes, ops) -> bytes:
    """Apply field-level ops to a serialized profile and serialize it again.

    ("set", pos, value)     set the pos-th scalar value (fraction) to value
                            (ints clamped to the field's range; str only for strings)
    ("bump", pos, delta)    add delta to the pos-th integer value
    ("del", pos, which)     delete one element of the pos-th repeated field
    ("dup", pos, which)     append a copy of one element of the pos-th repeated field
    ("clear", pos)          empty the pos-th repeated field
    """
    from perfkit.proto import profile_pb2
    m = profile_pb2.Profile()
    m.ParseFromString(raw)
    for op in ops:
        kind = op[0]
        if kind in ("set", "bump"):
            slots = _slots(m, [])
            if not slots:
                continue
            msg, fd, i = slots[min(int(op[1] * len(slots)), len(slots) - 1)]
            cur = getattr(msg, fd.name) if i is None else getattr(msg, fd.name)[i]
            if kind == "bump":
                if isinstance(cur, (str, bool)):
                    continue
                new = cur + op[2]
            else:
                new = op[2]
                if fd.type == fd.TYPE_STRING and not isinstance(new, str):
                    new = str(new)
                elif fd.type != fd.TYPE_STRING and isinstance(new, str):
                    continue
            new = _clamp(fd, new)
            if i is None:
                setattr(msg, fd.name, new)
            else:
                getattr(msg, fd.name)[i] = new
        else:
            fields = _repeated_fields(m, [])
            if not fields:
                continue
            msg, fd = fields[min(int(op[1] * len(fields)), len(fields) - 1)]
            rep = getattr(msg, fd.name)
            if kind == "clear":
                del rep[:]
                continue
            j = min(int(op[2] * len(rep)), len(rep) - 1)
            if kind == "del":
                del rep[j]
            elif kind == "dup":
                if fd.message_type is not None:
                    rep.add().CopyFrom(rep[j])
                else:
                    rep.append(rep[j])
    return m.SerializeToString()
