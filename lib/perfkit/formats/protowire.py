"""Vectorised decoding of profile.proto Sample messages with numpy.

A Sample holds only varints (packed or not): location ids (field 1), values (field 2)
and labels (field 3, small messages). Given the Sample bodies end to end, every varint is
decoded at once, then the fields are walked one per round for all samples together.

Anything this fast path does not expect (another wire type, a varint longer than 10 bytes,
a length running past its message) returns None: the caller then decodes with the protobuf
runtime, which gives the exact error.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..model.profile import runs_mask

CHUNK_BYTES = 2 << 20          # decode this many body bytes at a time (bounds temporary arrays)
DECODE_THREADS = min(4, os.cpu_count() or 1)   # chunks decoded side by side


@dataclass
class SampleArrays:
    offsets: np.ndarray        # per sample: offsets into loc_ids (len n + 1)
    loc_ids: np.ndarray        # location ids, leaf first, or what map_ids made of them
    values: np.ndarray         # (n, k) int64
    label_bytes: list          # (sample index, Label message bytes)
    hashes: tuple | None = None   # what hash_stacks made of each chunk's (offsets, loc_ids), concatenated


def varints(b: np.ndarray):
    """Start byte and value of every varint in b, or None if b does not end on a whole varint or one
    is longer than 10 bytes or overflows 64 bits.

    Positions are int32 (below 2 GiB); values are uint32 while every varint fits 4 bytes
    (location ids, most values), else uint64.
    """
    if len(b) == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.uint64)
    term = b < 0x80
    if not term[-1]:
        return None
    ends = np.flatnonzero(term).astype(np.int32 if len(b) < 2**31 else np.int64)
    starts = np.empty_like(ends)
    starts[0] = 0
    np.add(ends[:-1], 1, out=starts[1:])
    width = ends - starts
    maxw = int(width.max()) + 1
    if maxw > 10:
        return None
    if maxw <= 4:                                   # every varint fits 4 bytes: one word per varint
        return starts, _words(b, starts, width)
    vals = b[starts].astype(np.uint64)
    vals &= np.uint64(0x7F)
    idx = np.flatnonzero(width)                     # varints of 2 bytes or more
    j = 1
    while len(idx):                                 # one round per byte of the longest varint
        if j == 9 and bool((b[starts[idx] + j] > 1).any()):
            return None                             # a 10th byte holds only bit 63
        part = b[starts[idx] + j].astype(np.uint64)
        part &= np.uint64(0x7F)
        part <<= np.uint64(7 * j)
        vals[idx] |= part
        idx = idx[width[idx] > j]
        j += 1
    return starts, vals


def _words(b: np.ndarray, starts: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Values of varints of at most 4 bytes: the 4 bytes from each start read as one little-endian
    word (an unaligned view), the continuation bits squeezed out, the bytes past its end masked off."""
    pad = np.zeros(len(b) + 3, np.uint8)
    pad[:len(b)] = b
    at_every_byte = np.ndarray(shape=(len(b),), dtype="<u4", buffer=pad, strides=(1,))
    word = np.take(at_every_byte, starts)
    vals = word & np.uint32(0x7F)
    for j in (1, 2, 3):                             # byte j's 7 bits move down j places
        g = word >> np.uint32(j)
        g &= np.uint32(0x7F << (7 * j))
        vals |= g
    keep = np.left_shift(np.uint32(1), (width.astype(np.uint32) + np.uint32(1)) * np.uint32(7))
    keep -= np.uint32(1)
    vals &= keep
    return vals


def _chunk(b: np.ndarray, bstart: np.ndarray, bend: np.ndarray, k: int, base: int):
    """Decode the Sample bodies b[bstart[i]:bend[i]] (in order; between them only whole varints,
    such as the records' own tag and length); base = index of the first sample."""
    dec = varints(b)
    if dec is None:
        return None
    starts, vals = dec
    n = len(bstart)
    nb = len(b)
    starts_x = np.append(starts, nb)

    def tok_at(pos):                               # index of the varint starting at byte pos
        return np.searchsorted(starts_x, pos)

    body_end_tok = tok_at(bend)
    body_end_byte = bend
    # a body must end on a varint boundary
    if n and nb and not bool((b[bend[bend > bstart] - 1] < 0x80).all()):
        return None
    cur = tok_at(bstart)
    body = np.arange(n, dtype=np.int64)
    segs = []                                       # (kind, body, first token, token count)
    labels = []
    rnd = 0
    active = cur < body_end_tok
    body, cur = body[active], cur[active]
    while len(body):
        tag = vals[cur]
        wt = tag & np.uint64(7)
        field = tag >> np.uint64(3)
        if not bool(((wt == 0) | (wt == 2)).all()):
            return None
        nxt = np.empty_like(cur)
        v0 = wt == 0
        if v0.any():
            c = cur[v0]
            if bool((c + 1 >= body_end_tok[body[v0]]).any()):
                return None
            nxt[v0] = c + 2
            f = field[v0]
            for kind in (1, 2):
                sel = f == kind
                if sel.any():
                    segs.append((kind, body[v0][sel], c[sel] + 1, np.ones(int(sel.sum()), np.int64)))
            if bool((f == 3).any()):
                return None                          # a label must be a message
        v2 = ~v0
        if v2.any():
            c = cur[v2]
            bd = body[v2]
            if bool((c + 1 >= body_end_tok[bd]).any()):
                return None
            length = vals[c + 1]
            pstart = starts_x[c + 2]                  # the byte after the length
            if bool((length > np.uint64(nb)).any()):
                return None
            pend = pstart + length.astype(np.int64)
            if bool((pend > body_end_byte[bd]).any()):
                return None
            # the payload must end on a varint boundary so the tokens stay aligned
            nonempty = pend > pstart
            if nonempty.any() and not bool((b[pend[nonempty] - 1] < 0x80).all()):
                return None
            first = c + 2
            last = tok_at(pend)
            nxt[v2] = last
            f = field[v2]
            for kind in (1, 2):
                sel = f == kind
                if sel.any():
                    segs.append((kind, bd[sel], first[sel], last[sel] - first[sel]))
            sel = f == 3
            if sel.any():
                for i, a, z in zip(bd[sel].tolist(), pstart[sel].tolist(), pend[sel].tolist()):
                    labels.append((base + i, rnd, b[a:z].tobytes()))
        cur = nxt
        keep = cur < body_end_tok[body]
        body, cur = body[keep], cur[keep]
        rnd += 1
    out = []
    for kind in (1, 2):
        parts = [s for s in segs if s[0] == kind]
        if not parts:
            out.append((np.zeros(n + 1, np.int64), vals[:0]))
            continue
        sb = np.concatenate([s[1] for s in parts])
        sf = np.concatenate([s[2] for s in parts])
        sc = np.concatenate([s[3] for s in parts])
        counts = np.bincount(sb, weights=sc, minlength=n).astype(np.int64)
        off = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=off[1:])
        # the fields' tokens in byte order are the samples' values in order (fields in order of
        # appearance), and segments never overlap
        if len(parts) > 1:
            order = np.argsort(sf, kind="stable")
            sf, sc = sf[order], sc[order]
        out.append((off, vals[runs_mask(sf, sc, len(vals))]))
    (loff, lids), (voff, vv) = out
    if not bool((np.diff(voff) == k).all()):
        return None                                  # the runtime's decoder names the bad sample
    labels.sort(key=lambda x: (x[0], x[1]))
    return loff, lids, vv.astype(np.uint64, copy=False).view(np.int64).reshape(n, k), [(i, raw) for i, _, raw in labels]


def decode_samples(body: bytes, lens: np.ndarray, k: int, map_ids=None, starts=None,
                   hash_stacks=None) -> SampleArrays | None:
    """Samples from their message bodies: laid end to end in body (lens: bytes per sample), or, with
    starts, at those offsets of body (the whole message, each body after its record's tag and length).

    map_ids, applied to each chunk's uint64 location ids, keeps only its (smaller) result;
    hash_stacks(offsets, ids) per chunk, on the decoding threads, gives per-sample hashes."""
    n = len(lens)
    b = np.frombuffer(body, np.uint8)
    if starts is None:
        starts = np.zeros(n, np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
    stops = starts + lens
    bounds = []
    a = 0
    while a < n:
        z = int(np.searchsorted(stops, starts[a] + CHUNK_BYTES, side="right"))
        z = min(max(z, a + 1), n)
        bounds.append((a, z))
        a = z

    def one(az):
        a, z = az
        lo, hi = int(starts[a]), int(stops[z - 1])
        r = _chunk(b[lo:hi], starts[a:z] - lo, stops[a:z] - lo, k, a)
        if r is not None and map_ids is not None:
            r = (r[0], map_ids(r[1]), r[2], r[3])
        if r is not None:
            r = (*r, hash_stacks(r[0], r[1]) if hash_stacks is not None else None)
        return r

    # numpy lets go of the GIL in its array passes: chunks decode side by side on the machine's cores,
    # and each chunk's result is copied into place as it comes (no second copy of the whole)
    workers = min(DECODE_THREADS, len(bounds))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        return _assemble(pool.map(one, bounds) if pool else map(one, bounds), n, k, len(b), map_ids,
                         hash_stacks is not None)
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)


def _assemble(results, n: int, k: int, nbytes: int, map_ids, hashed: bool) -> SampleArrays | None:
    offsets = np.zeros(n + 1, np.int64)
    values = np.empty((n, k), np.int64)
    hashes = (np.empty(n, np.uint64), np.empty(n, np.uint64)) if hashed else None
    ids = None          # capacity: a varint takes a byte at least; pages never written stay unmapped
    labels = []
    a = used = 0
    for r in results:
        if r is None:
            return None
        loff, lids, vv, lab, h = r
        z = a + len(vv)
        if ids is None:
            ids = np.empty(nbytes, lids.dtype)
        ids[used:used + len(lids)] = lids
        offsets[a + 1:z + 1] = loff[1:] + used
        used += len(lids)
        values[a:z] = vv
        if hashed:
            hashes[0][a:z], hashes[1][a:z] = h
        labels.extend(lab)
        a = z
    if ids is None:
        ids = map_ids(np.zeros(0, np.uint64)) if map_ids else np.zeros(0, np.uint64)
    return SampleArrays(offsets, ids[:used], values, labels, hashes)


def uvarint(data: bytes, pos: int) -> tuple[int, int] | None:
    """One unsigned varint: (value, next position), None when the bytes end first or it runs past 64 bits."""
    v = shift = 0
    while pos < len(data) and shift < 64:
        c = data[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, pos
        shift += 7
    return None


def locate_samples(msg: bytes, lens: np.ndarray) -> np.ndarray | None:
    """Offsets of the Sample bodies in the encoded Profile msg, when its Sample records (field 2)
    follow each other with nothing in between, as Go writes them; else None."""
    pos, n = 0, len(msg)
    while pos < n:                                  # the top-level fields before the first sample
        r = uvarint(msg, pos)
        if r is None:
            return None
        tag, pos = r
        if tag == 0x12:
            pos -= 1
            break
        wt = tag & 7
        if wt == 0:
            r = uvarint(msg, pos)
            if r is None:
                return None
            pos = r[1]
        elif wt == 2:
            r = uvarint(msg, pos)
            if r is None:
                return None
            pos = r[1] + r[0]
        elif wt in (1, 5):
            pos += 8 if wt == 1 else 4
        else:
            return None
    if not len(lens):
        return None
    lens = np.asarray(lens, np.int64)
    width = np.ones(len(lens), np.int64)            # bytes of each record's length varint
    for bits in range(7, 63, 7):
        width += lens >= (1 << bits)
    rec = 1 + width + lens
    off = np.zeros(len(lens), np.int64)
    np.cumsum(rec[:-1], out=off[1:])
    off += pos
    if int(off[-1] + rec[-1]) > n:
        return None
    b = np.frombuffer(msg, np.uint8)
    if not bool((b[off] == 0x12).all()):
        return None
    # each record's length varint must say its length (the runtime parsed exactly these records)
    got = np.zeros(len(lens), np.int64)
    for j in range(int(width.max())):
        sel = width > j
        got[sel] |= (b[off[sel] + 1 + j].astype(np.int64) & 0x7F) << (7 * j)
    if not np.array_equal(got, lens):
        return None
    return off + 1 + width
