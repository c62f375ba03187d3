"""profile.proto codec: gzip, decode into a perfkit Profile, and encode back."""
from __future__ import annotations

import gzip
import itertools
import os
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import EmptyProfileError, ProfileError
from ..model.profile import Profile, ValueType, hash_stacks
from ..model.prune import prune_frames
from ..fileio import read_input, write_bytes
from .legacy import describe_unknown, read_legacy_profile
from .protowire import SampleArrays, decode_samples, locate_samples

try:                                       # ISA-L's inflate: the same streams, about 1.7x zlib's speed
    from isal import isal_zlib as _inflate
except ImportError:                         # pragma: no cover - isal is a dependency
    _inflate = zlib
GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED = 4 << 30   # refuse gzip bombs beyond 4 GiB


def maybe_gunzip(data: bytes, source: str) -> bytes:
    if not data.startswith(GZIP_MAGIC):
        return data
    out: list[bytes] = []
    total = 0
    rest = data
    try:
        while True:                              # one pass per member of a concatenated stream
            budget = MAX_DECOMPRESSED - total
            d = _inflate.decompressobj(wbits=31)
            chunk = d.decompress(rest, budget) if budget > 0 else b""
            total += len(chunk)
            out.append(chunk)
            if d.unconsumed_tail or (budget <= 0 and rest):
                raise ProfileError(source, f"gzip stream expands beyond {MAX_DECOMPRESSED >> 30} GiB")
            if not d.eof:
                raise ProfileError(source, "truncated gzip stream (compressed data ends early)")
            rest = d.unused_data
            if not rest.startswith(GZIP_MAGIC):
                return b"".join(out)
    except (zlib.error, _inflate.error) as e:
        raise ProfileError(source, f"corrupt gzip stream ({e})") from None


def read_profile(path: str | os.PathLike, *, allow_empty: bool = False) -> Profile:
    """Read one profile.proto file (gzip or raw).

    A profile with no samples raises EmptyProfileError unless allow_empty.
    """
    data = read_input(path, ProfileError, "a profile (use perfkit.load_archive for a directory)")
    return decode_profile(data, source=str(path), allow_empty=allow_empty)


def decode_profile(data: bytes, source: str = "<bytes>", *, allow_empty: bool = False) -> Profile:
    """Decode a profile from bytes (gzip or raw), whatever its format: profile.proto, or one of the text
    and legacy formats go tool pprof reads (``perfkit.formats.legacy``), recognised by content.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProfileError(source, f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ProfileError(source, "empty file")
    try:
        prof = _decode_proto(data, source)
    except ProfileError as proto_error:    # as in pprof: what is no profile.proto may be a legacy profile
        prof = _decode_legacy(data, source, proto_error)
    if prof.is_empty and not allow_empty:
        raise EmptyProfileError(source, "profile has zero samples (pass allow_empty=True to load it anyway)")
    return prof


def _decode_proto(data: bytes, source: str) -> Profile:
    from ..proto import profile_pb2
    from google.protobuf.message import DecodeError

    box = [maybe_gunzip(data, source)]       # held in a list so it can be freed early
    if not box[0]:
        raise ProfileError(source, "gzip stream holds no data")
    fast = _decode_fast(box, source)
    if fast is not None:
        return prune_frames(fast)
    if not box:                              # the fast path let go of the bytes: gunzip again
        box.append(maybe_gunzip(data, source))
    msg = profile_pb2.Profile()
    try:
        msg.ParseFromString(box.pop())
    except DecodeError as e:
        raise _NotProto(source, f"not a profile.proto message ({e})") from None
    except Exception as e:  # protobuf runtimes differ in what they raise
        raise _NotProto(source, f"not a profile.proto message ({type(e).__name__}: {e})") from None
    box.append(msg)
    del msg
    return prune_frames(_from_message(box, source))     # pprof applies drop/keep_frames on read


class _Fallback(Exception):
    """The fast path declines: decode with the protobuf runtime alone."""


def _decode_fast(box: list, source: str) -> Profile | None:
    """The protobuf runtime for the small tables, numpy for the samples (see protowire).

    None when the bytes are not the well-formed profile this path expects: the caller then
    decodes with the protobuf runtime alone, which reports the exact error. Memory: the bytes
    and the parsed message (whose arena holds a copy of every sample) are let go of before
    the samples are decoded.
    """
    from ..proto.raw import profile_with_raw_samples
    msg = profile_with_raw_samples()()
    try:
        msg.ParseFromString(box[0])
    except Exception:   # noqa: BLE001 - the full decoder says what is wrong
        return None
    if len(msg.sample_type) == 0:
        return None
    raw = [box.pop()]                        # handed on in a list, so that no frame keeps it
    box.append(msg)
    del msg
    try:
        return _from_message(box, source, fast=raw)
    except (ProfileError, _Fallback):        # the full decoder names the problem
        box.clear()
        return None


class _NotProto(ProfileError):
    """The bytes are no protobuf message at all."""


def _decode_legacy(data: bytes, source: str, proto_error: ProfileError) -> Profile:
    raw = maybe_gunzip(data, source)       # a gzip error was the proto decoder's error already
    if not raw:
        raise proto_error
    prof = read_legacy_profile(raw, source)
    if prof is not None:
        return prof
    if isinstance(proto_error, _NotProto):
        raise ProfileError(source, describe_unknown(raw, data.startswith(GZIP_MAGIC))) from None
    raise proto_error                       # a damaged profile.proto: its own error says more


class _Strings:
    def __init__(self, table, source):
        self.t = list(table)
        self.source = source
        if self.t and self.t[0] != "":
            raise ProfileError(source, "string_table[0] must be the empty string: not a profile.proto")

    def __call__(self, i: int, what: str) -> str:
        if i == 0:
            return ""
        if i < 0 or i >= len(self.t):
            raise ProfileError(self.source, f"{what} refers to string {i}, but the string table has {len(self.t)} entries")
        return self.t[i]

    def many(self, idx: np.ndarray, what: str) -> np.ndarray:
        idx = np.asarray(idx, np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= max(len(self.t), 1)):
            bad = int(idx[(idx < 0) | (idx >= max(len(self.t), 1))][0])
            raise ProfileError(self.source, f"{what} refers to string {bad}, but the string table has {len(self.t)} entries")
        arr = np.array(self.t if self.t else [""], dtype=object)
        return arr[idx]


def _index_of(ids: np.ndarray, what: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ids and the table order, after checking ids are non-zero and unique."""
    if len(ids) and (ids == 0).any():
        raise ProfileError(source, f"a {what} has id 0 (ids must be non-zero)")
    order = np.argsort(ids, kind="stable")
    sids = ids[order]
    if len(sids) > 1 and (sids[1:] == sids[:-1]).any():
        dup = int(sids[1:][sids[1:] == sids[:-1]][0])
        raise ProfileError(source, f"duplicate {what} id {dup}")
    return sids, order


def _lookup(ref: np.ndarray, sids: np.ndarray, order: np.ndarray, what: str, source: str,
            allow_zero: bool, referrer: str) -> np.ndarray:
    ref = np.asarray(ref, np.uint64)
    out = np.full(len(ref), -1, np.int64)
    if len(ref) == 0:
        return out
    # dense 1..n ids are the common case: no search needed
    n = len(sids)
    if n and sids[0] == 1 and sids[-1] == n:
        ok = (ref >= 1) & (ref <= n)
        pos = np.where(ok, ref.astype(np.int64) - 1, 0)
    else:
        pos = np.searchsorted(sids, ref)
        pos_c = np.minimum(pos, max(n - 1, 0))
        ok = (pos < n) & (sids[pos_c] == ref) if n else np.zeros(len(ref), bool)
        pos = pos_c
    zero = ref == 0
    bad = ~ok & ~(zero & allow_zero)
    if bad.any():
        raise ProfileError(source, f"a {referrer} refers to unknown {what} id {int(ref[bad][0])}")
    out[ok] = order[pos[ok]] if n else -1
    return out


def _from_message(box: list, source: str, fast: list | None = None) -> Profile:
    m = box.pop()          # the only reference: freed once the samples are extracted
    S = _Strings(m.string_table, source)
    if len(m.sample_type) == 0:
        raise ProfileError(source, "no sample types: not a pprof profile")
    sample_types = [ValueType(S(v.type, "sample_type"), S(v.unit, "sample_type unit")) for v in m.sample_type]
    k = len(sample_types)

    # functions
    fns = m.function
    fn_id = np.fromiter((f.id for f in fns), np.uint64, len(fns))
    fn_sorted, fn_order = _index_of(fn_id, "function", source)
    fn_name = S.many([f.name for f in fns], "function name")
    fn_sys = S.many([f.system_name for f in fns], "function system_name")
    fn_file = S.many([f.filename for f in fns], "function filename")
    fn_start = np.fromiter((f.start_line for f in fns), np.int64, len(fns))

    # mappings
    mps = m.mapping
    mp_id = np.fromiter((x.id for x in mps), np.uint64, len(mps))
    mp_sorted, mp_order = _index_of(mp_id, "mapping", source)
    mappings = pd.DataFrame({
        "id": mp_id,
        "memory_start": np.fromiter((x.memory_start for x in mps), np.uint64, len(mps)),
        "memory_limit": np.fromiter((x.memory_limit for x in mps), np.uint64, len(mps)),
        "file_offset": np.fromiter((x.file_offset for x in mps), np.uint64, len(mps)),
        "file": S.many([x.filename for x in mps], "mapping filename"),
        "build_id": S.many([x.build_id for x in mps], "mapping build_id"),
        "has_functions": [x.has_functions for x in mps],
        "has_filenames": [x.has_filenames for x in mps],
        "has_line_numbers": [x.has_line_numbers for x in mps],
        "has_inline_frames": [x.has_inline_frames for x in mps],
    })

    # locations and their lines
    locs = m.location
    nloc = len(locs)
    loc_id = np.fromiter((x.id for x in locs), np.uint64, nloc)
    loc_sorted, loc_order = _index_of(loc_id, "location", source)
    loc_mapping = _lookup(np.fromiter((x.mapping_id for x in locs), np.uint64, nloc),
                          mp_sorted, mp_order, "mapping", source, allow_zero=True,
                          referrer="location")
    loc_address = np.fromiter((x.address for x in locs), np.uint64, nloc)
    loc_folded = np.fromiter((x.is_folded for x in locs), bool, nloc)
    line_lists = [x.line for x in locs]
    n_lines = np.fromiter(map(len, line_lists), np.int64, nloc)
    line_start = np.zeros(nloc + 1, np.int64)
    np.cumsum(n_lines, out=line_start[1:])
    all_lines = list(itertools.chain.from_iterable(line_lists))
    nl = len(all_lines)
    line_fn_ids = np.fromiter((ln.function_id for ln in all_lines), np.uint64, nl)
    line_function = _lookup(line_fn_ids, fn_sorted, fn_order, "function", source,
                            allow_zero=True, referrer="location line")
    line_number = np.fromiter((ln.line for ln in all_lines), np.int64, nl)
    line_column = np.fromiter((ln.column for ln in all_lines), np.int64, nl)

    header = _header(m, S)
    hashes = None
    if fast is None:
        values, offsets, stack_locs, labels = _samples(m.sample, k, nloc, loc_sorted, loc_order, S, source)
        del m
    else:
        raw = m.sample
        lens = np.fromiter(map(len, raw), np.int64, len(raw))
        encoded = fast.pop()
        starts = locate_samples(encoded, lens)      # the samples in the encoded message itself
        body = encoded if starts is not None else b"".join(raw)
        del encoded
        del raw, m, fast              # frees the message's arena: a copy of every sample
        ids = _IdMap(nloc, loc_sorted, loc_order, source)
        try:
            arrays = decode_samples(body, lens, k, ids, starts, hash_stacks)
        except (IndexError, ValueError, OverflowError):   # unexpected bytes: the full decoder names them
            arrays = None
        del body
        if arrays is None:
            raise _Fallback
        values, offsets, stack_locs, labels = _samples_fast(arrays, S, source)
        hashes = arrays.hashes
    dflt, period_type, period, time_nanos, duration_nanos, comments, drop, keep, doc = header
    return Profile(
        sample_types=sample_types, values=values, stack_offsets=offsets, stack_locs=stack_locs,
        loc_id=loc_id, loc_mapping=loc_mapping, loc_address=loc_address, loc_is_folded=loc_folded,
        loc_line_start=line_start, line_function=line_function, line_number=line_number,
        line_column=line_column, fn_id=fn_id, fn_name=fn_name, fn_system_name=fn_sys,
        fn_filename=fn_file, fn_start_line=fn_start, mappings=mappings, labels=labels,
        default_sample_type=dflt, period_type=period_type, period=period,
        time_nanos=time_nanos, duration_nanos=duration_nanos,
        comments=comments, drop_frames=drop, keep_frames=keep, doc_url=doc, source=source,
        sample_hashes=hashes,
    )


def _header(m, S):
    dflt = S(m.default_sample_type, "default_sample_type")
    period_type = None
    if m.HasField("period_type"):
        period_type = ValueType(S(m.period_type.type, "period_type"), S(m.period_type.unit, "period_type unit"))
    return (dflt, period_type, int(m.period), int(m.time_nanos), int(m.duration_nanos),
            [S(c, "comment") for c in m.comment], S(m.drop_frames, "drop_frames"),
            S(m.keep_frames, "keep_frames"), S(m.doc_url, "doc_url"))


SAMPLE_CHUNK = 1 << 16


def _samples(samples, k: int, nloc: int, loc_sorted, loc_order, S, source):
    """Values, stack offsets and location indices, decoded chunk by chunk."""
    n = len(samples)
    depth = np.fromiter((len(s.location_id) for s in samples), np.int64, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(depth, out=offsets[1:])
    values = np.empty((n, k), np.int64)
    stack_locs = np.empty(int(offsets[-1]), np.int32 if nloc < 2**31 else np.int64)
    dense = bool(nloc) and loc_sorted[0] == 1 and loc_sorted[-1] == nloc
    identity = dense and bool((loc_order == np.arange(nloc)).all())
    for a in range(0, n, SAMPLE_CHUNK):
        chunk = samples[a:a + SAMPLE_CHUNK]
        b = a + len(chunk)
        vals = [s.value for s in chunk]
        nv = np.fromiter(map(len, vals), np.int64, len(vals))
        if (nv != k).any():
            i = int(np.nonzero(nv != k)[0][0])
            raise ProfileError(source, f"sample {a + i} has {int(nv[i])} values but the profile has {k} sample types")
        values[a:b] = np.fromiter(itertools.chain.from_iterable(vals), np.int64, len(vals) * k).reshape(-1, k)
        lo, hi = int(offsets[a]), int(offsets[b])
        ids = np.fromiter(itertools.chain.from_iterable(s.location_id for s in chunk), np.uint64, hi - lo)
        if dense and len(ids) and ids.min() >= 1 and ids.max() <= nloc:
            ids -= np.uint64(1)
            stack_locs[lo:hi] = ids if identity else loc_order[ids.astype(np.int64)]
        else:
            stack_locs[lo:hi] = _lookup(ids, loc_sorted, loc_order, "location", source, allow_zero=False,
                                        referrer="sample")
    labels = _labels(samples, S, source)
    return values, offsets, stack_locs, labels


class _IdMap:
    """Sample location ids -> location indices, chunk by chunk (int32 when the table allows)."""

    def __init__(self, nloc: int, loc_sorted, loc_order, source: str):
        self.nloc, self.sorted, self.order, self.source = nloc, loc_sorted, loc_order, source
        self.dtype = np.int32 if nloc < 2**31 else np.int64
        self.dense = bool(nloc) and loc_sorted[0] == 1 and loc_sorted[-1] == nloc
        self.identity = self.dense and bool((loc_order == np.arange(nloc)).all())

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        if self.dense and len(ids) and ids.min() >= 1 and ids.max() <= self.nloc:
            idx = ids.astype(self.dtype)
            idx -= 1
            return idx if self.identity else self.order[idx].astype(self.dtype)
        if not len(ids):
            return np.zeros(0, self.dtype)
        return _lookup(ids, self.sorted, self.order, "location", self.source, allow_zero=False,
                       referrer="sample").astype(self.dtype)


def _samples_fast(a: SampleArrays, S, source):
    stack_locs = a.loc_ids
    if not a.label_bytes:
        return a.values, a.offsets, stack_locs, empty_labels()
    from ..proto import profile_pb2
    parsed = []
    for i, raw in a.label_bytes:
        try:
            parsed.append((i, profile_pb2.Label.FromString(raw)))
        except Exception:   # noqa: BLE001
            raise ProfileError(source, f"sample {i} has a malformed label") from None
    key = S.many([lb.key for _, lb in parsed], "label key")
    sval = S.many([lb.str for _, lb in parsed], "label value")
    unit = S.many([lb.num_unit for _, lb in parsed], "label unit")
    labels = pd.DataFrame({"sample": np.array([i for i, _ in parsed], np.int64), "key": key, "str": sval,
                           "num": np.array([lb.num for _, lb in parsed], np.int64), "num_unit": unit})
    return a.values, a.offsets, stack_locs, labels


def empty_labels() -> pd.DataFrame:
    return pd.DataFrame({"sample": np.zeros(0, np.int64), "key": np.zeros(0, object),
                         "str": np.zeros(0, object), "num": np.zeros(0, np.int64),
                         "num_unit": np.zeros(0, object)})


def _labels(samples, S: _Strings, source: str) -> pd.DataFrame:
    rows_s, rows_k, rows_v, rows_n, rows_u = [], [], [], [], []
    for i, s in enumerate(samples):
        lab = s.label
        if not lab:
            continue
        for lb in lab:
            rows_s.append(i)
            rows_k.append(lb.key)
            rows_v.append(lb.str)
            rows_n.append(lb.num)
            rows_u.append(lb.num_unit)
    if not rows_s:
        return empty_labels()
    key = S.many(rows_k, "label key")
    sval = S.many(rows_v, "label value")
    unit = S.many(rows_u, "label unit")
    return pd.DataFrame({"sample": np.array(rows_s, np.int64), "key": key, "str": sval,
                         "num": np.array(rows_n, np.int64), "num_unit": unit})


# ---- encoding ----------------------------------------------------------------
class _StringTable:
    def __init__(self):
        self.index = {"": 0}
        self.table = [""]

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def encode_message(p: Profile):
    from ..proto import profile_pb2
    m = profile_pb2.Profile()
    S = _StringTable()
    for t in p.sample_types:
        m.sample_type.add(type=S(t.type), unit=S(t.unit))
    mp_ids = np.arange(1, len(p.mappings) + 1)
    for i, r in enumerate(p.mappings.itertuples(index=False)):
        m.mapping.add(id=int(mp_ids[i]), memory_start=int(r.memory_start), memory_limit=int(r.memory_limit),
                      file_offset=int(r.file_offset), filename=S(r.file), build_id=S(r.build_id),
                      has_functions=bool(r.has_functions), has_filenames=bool(r.has_filenames),
                      has_line_numbers=bool(r.has_line_numbers), has_inline_frames=bool(r.has_inline_frames))
    for i in range(p.n_functions):
        m.function.add(id=i + 1, name=S(p.fn_name[i]), system_name=S(p.fn_system_name[i]),
                       filename=S(p.fn_filename[i]), start_line=int(p.fn_start_line[i]))
    for i in range(p.n_locations):
        loc = m.location.add(id=i + 1, mapping_id=int(mp_ids[p.loc_mapping[i]]) if p.loc_mapping[i] >= 0 else 0,
                             address=int(p.loc_address[i]), is_folded=bool(p.loc_is_folded[i]))
        for j in range(p.loc_line_start[i], p.loc_line_start[i + 1]):
            f = p.line_function[j]
            loc.line.add(function_id=int(f) + 1 if f >= 0 else 0, line=int(p.line_number[j]),
                         column=int(p.line_column[j]))
    labels_by_sample: dict[int, list] = {}
    for r in p.labels.itertuples(index=False):
        labels_by_sample.setdefault(int(r.sample), []).append(r)
    locs = (p.stack_locs.astype(np.int64) + 1).tolist()
    off = p.stack_offsets.tolist()
    vals = p.values.tolist()
    for i in range(p.n_samples):
        s = m.sample.add(location_id=locs[off[i]:off[i + 1]], value=vals[i])
        for r in labels_by_sample.get(i, ()):
            if r.str:
                s.label.add(key=S(r.key), str=S(r.str))
            else:
                s.label.add(key=S(r.key), num=int(r.num), num_unit=S(r.num_unit) if r.num_unit else 0)
    if p.period_type is not None:
        m.period_type.type = S(p.period_type.type)
        m.period_type.unit = S(p.period_type.unit)
    m.period = p.period
    m.time_nanos = p.time_nanos
    m.duration_nanos = p.duration_nanos
    m.comment.extend(S(c) for c in p.comments)
    m.drop_frames = S(p.drop_frames) if p.drop_frames else 0
    m.keep_frames = S(p.keep_frames) if p.keep_frames else 0
    m.default_sample_type = S(p.default_sample_type) if p.default_sample_type else 0
    m.doc_url = S(p.doc_url) if p.doc_url else 0
    m.string_table.extend(S.table)
    return m


def encode_profile(p: Profile, compress: bool = True) -> bytes:
    data = encode_message(p).SerializeToString()
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


def write_profile(p: Profile, path: str | os.PathLike, compress: bool = True) -> Path:
    return write_bytes(path, encode_profile(p, compress))
