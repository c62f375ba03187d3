"""Vectorised event decoding for the pre-1.22 trace format (see trace_legacy for the format).

Events follow each other with no batch sizes, so where each one starts is a chain. For every byte
of a chunk, numpy computes where an event starting there would end ("next"); jumps of 16 events are
composed from it, and a short Python loop follows the chain 16 events at a time. The arguments of
the events found are then decoded together, and batches, timestamps and each P's current goroutine
are worked out with cumulative sums and forward fills.

Only well-formed input takes this path: anything the slow parser would reject (or that this path
does not expect) returns None, and trace_legacy's event loop then parses the file and names the error.
"""
from __future__ import annotations

import numpy as np

from .protowire import uvarint, varints

CHUNK = 4 << 20
MARGIN = 4096           # an event's header and length fields lie within this of its start
JUMP = 16               # events per step of the Python loop (a power of two)
MAX_U64 = (1 << 64) - 1
NONE = -1


class _Irregular(Exception):
    """The fast path does not handle this input."""


def _varint_ends(seg: np.ndarray) -> np.ndarray:
    """For each byte position, the position just after the varint starting there (len(seg)+1: none)."""
    n = len(seg)
    idx = np.where(seg < 0x80, np.arange(n, dtype=np.int32), np.int32(n))
    nt = np.minimum.accumulate(idx[::-1])[::-1]
    nt += 1
    return nt


def _values(seg: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Values of the varints starting at q (positions in seg, each ending within 10 bytes)."""
    v = np.zeros(len(q), np.uint64)
    act = np.arange(len(q))
    for j in range(10):
        if not len(act):
            break
        byte = seg[q[act] + j]
        v[act] |= (byte & 0x7F).astype(np.uint64) << np.uint64(7 * j)
        act = act[byte >= 0x80]
    if len(act):
        raise _Irregular
    return v


def _next_events(seg, rest, typ_ok, ev_string, ev_userlog, ev_batch):
    """End of an event starting at each position of seg, relative to seg (int32; NONE: cannot start
    there). rest: bytes of the file from seg's start on."""
    n = len(seg) - 32                      # seg carries 32 bytes of padding
    ve = _varint_ends(seg)
    last = np.int32(len(ve) - 1)
    h = seg[:n]
    typ = h & 0x3F
    narg = h >> 6                          # number of arguments - 1 (3: length-prefixed)
    pos = np.arange(n, dtype=np.int32)
    e1 = ve[1:n + 1]
    e2 = ve[np.minimum(e1, last)]
    e3 = ve[np.minimum(e2, last)]
    nxt = np.where(narg == 0, e1, np.where(narg == 1, e2, e3))
    bad = ~typ_ok[typ]
    bad[typ == ev_batch] |= narg[typ == ev_batch] != 1
    w1 = e1 - pos                               # bytes of the first varint, plus one
    bad |= w1 > 11
    # length-prefixed arguments (and a log message after them), and strings: work on those rows only
    lp = np.flatnonzero(narg == 3)
    lp = lp[~bad[lp] & (typ[lp] != ev_string) & (e1[lp] <= n + 16)]
    if len(lp):
        ln = _values(seg, lp + 1).astype(np.int64) if len(lp) else np.zeros(0, np.int64)
        end = e1[lp] + np.minimum(ln, 1 << 30)
        nxt[lp] = end
        bad[lp[ln > 2048]] = True
        ul = np.flatnonzero((typ[lp] == ev_userlog) & (ln <= 2048))
        if len(ul):
            q = lp[ul]
            a_end = end[ul]
            ok = a_end + 10 < len(seg)
            bad[q[~ok]] = True
            q, a_end = q[ok], a_end[ok]
            m_end = ve[a_end]
            ok = m_end - a_end <= 10
            bad[q[~ok]] = True
            q, a_end, m_end = q[ok], a_end[ok], m_end[ok]
            m = _values(seg, a_end).astype(np.int64) if len(q) else np.zeros(0, np.int64)
            bad[q[m > 1_000_000]] = True
            nxt[q] = m_end + np.minimum(m, 1 << 30)
    st = np.flatnonzero(typ == ev_string)
    st = st[(e2[st] - e1[st] <= 10) & ~bad[st] & (e1[st] + 10 < len(seg))]
    if len(st):
        ln = _values(seg, e1[st]).astype(np.int64)
        nxt[st] = e2[st] + np.minimum(ln, 1 << 30)
        bad[st[(ln == 0) | (ln > 1_000_000)]] = True
    bad |= nxt > rest
    nxt[bad] = NONE
    return nxt


def event_starts(data: bytes, typ_ok: np.ndarray, ev_string: int, ev_userlog: int, ev_batch: int,
                 start: int) -> np.ndarray:
    """File offsets of every event, in order."""
    b = np.frombuffer(data, np.uint8)
    n = len(b)
    out = []
    p = start
    while p < n:
        c0 = p
        c1 = min(n, c0 + CHUNK)
        cend = min(n, c1 + MARGIN)
        seg = np.zeros(cend - c0 + 32, np.uint8)
        seg[:cend - c0] = b[c0:cend]
        nx = _next_events(seg, n - c0, typ_ok, ev_string, ev_userlog, ev_batch)   # for [c0, cend)
        # jumps within [c0, cend): J[k] = 2**k events ahead, NONE when it leaves the range
        j1 = np.where(nx < cend - c0, nx, np.int32(NONE))
        if cend < n:                          # near the end of the window the lookahead is cut short
            j1[max(0, cend - c0 - 64):] = NONE
        jumps = [j1]
        while (1 << (len(jumps))) <= JUMP:
            prev = jumps[-1]
            nxtj = np.where(prev >= 0, prev[np.maximum(prev, 0)], np.int32(NONE))
            jumps.append(nxtj)
        far_mv = memoryview(jumps[-1])
        nx_mv = memoryview(nx)
        many, single = [], []
        q = p - c0
        lim = c1 - c0
        while q < lim:
            f = far_mv[q]
            if f >= 0:
                many.append(q)
                q = f
            else:
                single.append(q)
                q = nx_mv[q]
                if q < 0:
                    raise _Irregular
        is_event = np.zeros(cend - c0, bool)          # marking, then one scan: cheaper than sorting
        is_event[np.asarray(single, np.int64)] = True
        if many:
            cur = np.asarray(many, np.int64)
            for _ in range(JUMP):
                is_event[cur] = True
                cur = j1[cur]
        out.append(np.flatnonzero(is_event) + c0)
        p = q + c0
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def decode_events(data: bytes, minor: int, desc, names_ev: dict, nargs_tab, has_stack,
                  starts_g, ends_g, g_from_arg, local, untimed, header_len: int):
    """The parse of trace_legacy.parse_legacy without its per-event loop, or None (see the module doc)."""
    try:
        return _decode(data, minor, desc, names_ev, nargs_tab, has_stack, starts_g, ends_g, g_from_arg, local,
                       untimed, header_len)
    except (_Irregular, IndexError, ValueError, OverflowError, TypeError):
        return None                            # the event loop decodes it, or names what is wrong


def _decode(data, minor, desc, EV, nargs_tab, has_stack, starts_g, ends_g, g_from_arg, local, untimed, header_len):
    typ_ok = np.zeros(64, bool)
    for code, d in enumerate(desc):
        typ_ok[code] = code != 0 and d[1] <= minor
    ev_string, ev_userlog, ev_batch = EV["String"], EV["UserLog"], EV["Batch"]
    ev_stack, ev_freq, ev_timer, ev_cpu = EV["Stack"], EV["Frequency"], EV["TimerGoroutine"], EV["CPUSample"]
    pos = event_starts(data, typ_ok, ev_string, ev_userlog, ev_batch, header_len)
    b = np.frombuffer(data, np.uint8)
    n = len(b)
    ix = np.int32 if n < 2**31 else np.int64        # file offsets: int32 halves the per-event arrays
    pos = pos.astype(ix)
    h = b[pos]
    typ = h & 0x3F
    narg = h >> 6                                   # 3: length-prefixed
    del h
    is_str = typ == ev_string
    # argument byte ranges [a0, a1)
    a0 = pos + ix(1)
    a1 = np.empty_like(pos)
    a1[:-1] = pos[1:]
    if len(pos):
        a1[-1] = n
    lp = np.flatnonzero((narg == 3) & ~is_str)
    del narg
    ul_msg = {}
    if len(lp):
        ve = _ends_at(b, pos[lp].astype(np.int64) + 1)
        ln = _vals_at(b, pos[lp].astype(np.int64) + 1)
        a0[lp] = ve
        a1[lp] = ve + ln
        for i in lp[typ[lp] == ev_userlog].tolist():       # log messages: few
            m, m_end = uvarint(data, int(a1[i]))
            ul_msg[i] = data[m_end:m_end + m].decode("utf-8", "replace")
    del lp
    a0[is_str] = a1[is_str]
    if bool((a1 < a0).any()):
        raise _Irregular
    ecount, vals = _arg_values(b, a0, a1)
    del a0, a1
    voff = np.zeros(len(pos) + 1, np.int64)
    np.cumsum(ecount, out=voff[1:])

    def arg(k, rows):                          # k-th raw argument of events `rows` (0 if absent)
        ok = ecount[rows] > k
        out = np.zeros(len(rows), np.uint64)
        out[ok] = vals[voff[rows[ok]] + k]
        return out

    # strings, stacks (few): Python
    strings: dict[int, str] = {}
    for p in pos[is_str].tolist():
        sid, e1 = uvarint(data, p + 1)
        ln, e2 = uvarint(data, e1)
        if sid == 0 or sid in strings:
            raise _Irregular
        strings[sid] = data[e2:e2 + ln].decode("utf-8", "replace")
    want = np.asarray(nargs_tab, np.int64)[typ]
    is_stack = typ == ev_stack
    stacks: dict[int, list[tuple[int, int, int, int]]] = {}
    for i in np.flatnonzero(is_stack).tolist():
        a = vals[voff[i]:voff[i + 1]].tolist()
        if len(a) < 2 or a[1] > 1000 or len(a) != 2 + 4 * a[1]:
            raise _Irregular
        if a[0] and a[1]:
            stacks[a[0]] = [tuple(a[2 + 4 * k: 6 + 4 * k]) for k in range(a[1])]
    checked = ~is_str & ~is_stack
    if bool((ecount[checked] != want[checked]).any()):
        raise _Irregular
    # batches: each event's P and the batch's base time
    is_batch = typ == ev_batch
    bi = np.cumsum(is_batch, dtype=np.int32) - np.int32(1)     # batch of each event (-1: before the first)
    brow = np.flatnonzero(is_batch)
    pid = arg(0, brow)
    if bool(((pid != np.uint64(MAX_U64)) & (pid > np.uint64(0x7FFFFFFF))).any()):
        raise _Irregular
    bp = np.where(pid == np.uint64(MAX_U64), -1, pid.astype(np.int64)).astype(np.int32)   # P ids fit int32
    bts = arg(1, brow)
    pre = bi < 0
    if bool((pre & ~is_str & ~is_stack & (typ != ev_freq)).any()):
        raise _Irregular
    # frequency, timer goroutines
    fr = np.flatnonzero(typ == ev_freq)
    ticks = int(arg(0, fr)[-1]) if len(fr) else 0
    if len(fr) and bool((arg(0, fr) == 0).any()):
        raise _Irregular
    timer_goids = set(arg(0, np.flatnonzero(typ == ev_timer)).tolist())
    # timed events
    untimed_mask = np.zeros(64, bool)
    untimed_mask[list(untimed)] = True
    is_cpu = typ == ev_cpu
    timed = ~untimed_mask[typ] & ~is_str & ~is_stack & ~is_cpu & ~pre
    tr = np.flatnonzero(timed).astype(ix)
    del timed, is_batch, is_str, checked, want
    delta = arg(0, tr)
    if len(tr) and float(delta.max()) >= 2.0 ** 62:
        raise _Irregular
    tb = bi[tr]
    del bi
    delta = delta.view(np.int64)                # < 2**62: the same values
    cs = np.cumsum(delta)
    first = np.ones(len(tr), bool)
    first[1:] = tb[1:] != tb[:-1]
    seg0 = np.maximum.accumulate(np.where(first, np.arange(len(tr), dtype=ix), ix(0))) if len(tr) else tr
    del first
    # time within the batch: cumulative deltas since its first event (in place: big arrays)
    cs -= cs[seg0]
    cs += delta[seg0]
    del seg0, delta
    base = bts[tb]
    if len(tr) and float(base.max()) + float(cs.max()) >= 2.0 ** 62:
        raise _Irregular
    ts_t = cs
    ts_t += base.astype(np.int64)
    del base
    t_typ = typ[tr]
    hs = np.asarray(has_stack, bool)[t_typ]
    cnt = ecount[tr]
    # columns of the timed events: body (named args) padded to 4, stack last
    body_n = cnt - 1 - hs
    A = [np.zeros(len(tr), np.uint64) for _ in range(4)]
    for k in range(4):
        ok = np.flatnonzero(body_n > k)
        _fill(A[k], ok, vals, lambda w: voff[tr[w]] + (1 + k))
    del body_n, ok
    stk = np.zeros(len(tr), np.uint64)
    hk = np.flatnonzero(hs)
    _fill(stk, hk, vals, lambda w: voff[tr[w]] + cnt[w] - 1)
    del hk, hs
    cnt = None                                  # (read by the lambda above: rebound, not deleted)
    stk[stk >= np.uint64(2 ** 63)] = 0
    stk_i = stk.view(np.int64)
    # CPU samples: kept aside like Go's parser, in file order with the others
    cr = np.flatnonzero(is_cpu & ~pre)
    cpu = None
    if len(cr):
        c_p, c_g, c_s = arg(2, cr), arg(3, cr), arg(4, cr)
        if bool((c_s >= np.uint64(2 ** 63)).any()):
            raise _Irregular
        ca = [np.zeros(len(cr), np.uint64), c_p, c_g, np.zeros(len(cr), np.uint64)]
        cpu = {"ts": np.minimum(arg(1, cr), np.uint64(2 ** 63 - 1)).astype(np.int64),
               "type": np.full(len(cr), ev_cpu, np.uint8),
               "p": np.where((c_p == np.uint64(MAX_U64)) | (c_p > np.uint64(2 ** 62)), -1,
                             np.minimum(c_p, np.uint64(2 ** 62)).astype(np.int64)),
               "g": np.minimum(c_g, np.uint64(2 ** 63 - 1)).astype(np.int64), "a": ca,
               "stk": c_s.astype(np.int64), "row": cr}
    del is_cpu, pre
    vals = voff = ecount = None                  # every argument is read: the values go (arg() keeps the names)
    P = bp[tb]
    del tb
    # each P's current goroutine (kept across its batches): forward fill of starts and ends
    code_start = np.zeros(64, bool)
    code_start[list(starts_g)] = True
    code_end = np.zeros(64, bool)
    code_end[list(ends_g)] = True
    code_arg = np.zeros(64, bool)
    code_arg[list(g_from_arg)] = True
    # the first named argument (A[0]) is the goroutine of starts and of code_arg events
    ks = np.flatnonzero(code_start[t_typ])
    setval = np.zeros(len(tr), np.int64)
    setval[ks] = np.minimum(A[0][ks], np.uint64(2 ** 63 - 1)).astype(np.int64)
    sets = code_start[t_typ] | code_end[t_typ]
    order = np.argsort(P.astype(np.int16) if len(P) and P.max() < 2 ** 15 else P, kind="stable")   # radix
    order = order.astype(ix)
    Ps, sets_s = P[order], sets[order]
    del sets
    m = len(order)
    newp = np.ones(m, bool)
    newp[1:] = Ps[1:] != Ps[:-1]
    del Ps
    gstart = np.maximum.accumulate(np.where(newp, np.arange(m, dtype=ix), ix(0))) if m else order
    del newp
    last = np.where(sets_s, np.arange(m, dtype=ix), ix(-1))
    del sets_s
    prev = np.empty(m, ix)
    if m:
        prev[0] = -1
        np.maximum.accumulate(last[:-1], out=prev[1:])
    del last
    ok = prev >= gstart
    del gstart
    np.maximum(prev, 0, out=prev)
    before_s = setval[order[prev]]                 # the value set by the last start/end on this P
    before_s[~ok] = 0
    del prev, ok, setval
    g = np.empty(m, np.int64)
    g[order] = before_s
    del before_s, order
    ks = np.flatnonzero(code_start[t_typ] | code_arg[t_typ])
    g[ks] = np.minimum(A[0][ks], np.uint64(2 ** 63 - 1)).astype(np.int64)
    del ks
    inline: dict[str, int] = {}
    for j in np.flatnonzero(t_typ == ev_userlog).tolist():
        A[2][j] = 0
        A[3][j] = inline.setdefault(ul_msg.get(int(tr[j]), "") or "", len(inline))
    lut = np.arange(64, dtype=np.uint8)
    for a, z in local.items():
        lut[a] = z
    cols = {"ts": ts_t, "type": lut[t_typ], "p": P, "g": g, "a": A, "stk": stk_i, "row": tr}
    if cpu is not None:
        allrows = np.concatenate([tr, cr])
        o = np.argsort(allrows, kind="stable")
        cols = {k: [np.concatenate([x, y])[o] for x, y in zip(cols[k], cpu[k])] if k == "a"
                else np.concatenate([cols[k], cpu[k]])[o] for k in cols}
    if ticks == 0:
        raise _Irregular
    return {"strings": strings, "stacks": stacks, "timer_goids": timer_goids, "ticks": ticks,
            "inline_strings": inline, "ts": cols["ts"], "type": cols["type"].astype(np.uint8), "p": cols["p"],
            "g": cols["g"], "args": cols["a"], "stack": cols["stk"]}


def _arg_values(b: np.ndarray, a0: np.ndarray, a1: np.ndarray, block: int = 1 << 20):
    """Per event the number of varints in its argument bytes [a0, a1) (int32), and the values of all
    of them in order (uint64). Ranges are disjoint and in order; they are worked on in blocks of
    events, so the byte-sized temporaries stay small (and are reused, not mapped afresh)."""
    ne = len(a0)
    ecount = np.empty(ne, np.int32)
    vals = np.empty(len(b), np.uint64)           # at most one varint a byte: pages past the end stay untouched
    nv = 0
    for e0 in range(0, ne, block):
        x0, x1 = a0[e0:e0 + block], a1[e0:e0 + block]
        lo, hi = int(x0.min()), int(x1.max())
        x0 = x0 - lo
        x1 = x1 - lo
        # the argument bytes, picked with a byte mask
        mark = np.zeros(hi - lo + 1, np.int8)
        mark[x0] += 1
        mark[x1] -= 1
        seg = b[lo:hi]
        if bool((seg[x1[x1 > x0] - 1] >= 0x80).any()):
            raise _Irregular                   # a varint runs past its argument block
        inside = np.cumsum(mark[:-1], dtype=np.int8).view(bool)
        # per event: the number of argument varints = terminators in its range
        cterm = np.zeros(hi - lo + 1, np.int32)
        np.cumsum((seg < 0x80) & inside, out=cterm[1:])
        ecount[e0:e0 + block] = cterm[x1] - cterm[x0]
        dec = varints(seg[inside])
        if dec is None:
            raise _Irregular
        v = dec[1]
        vals[nv:nv + len(v)] = v
        nv += len(v)
    return ecount, vals[:nv]


def _fill(out: np.ndarray, sel: np.ndarray, vals: np.ndarray, index_of) -> None:
    """out[sel] = vals[index_of(sel)], in blocks (small index temporaries)."""
    for i in range(0, len(sel), 1 << 20):
        w = sel[i:i + (1 << 20)]
        out[w] = vals[index_of(w)]


def _ends_at(b: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Position after the varint at each q (which must end within 10 bytes)."""
    out = q.copy()
    act = np.arange(len(q))
    for _ in range(10):
        if not len(act):
            return out
        if bool((out[act] >= len(b)).any()):
            raise _Irregular
        byte = b[out[act]]
        out[act] += 1
        act = act[byte >= 0x80]
    if len(act):
        raise _Irregular
    return out


def _vals_at(b: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Values of the varints at q, as int64 (lengths and ids: a value beyond int64 is irregular)."""
    end = _ends_at(b, q)
    v = np.zeros(len(q), np.uint64)
    for j in range(10):
        act = np.flatnonzero(q + j < end)
        if not len(act):
            break
        v[act] |= (b[q[act] + j] & 0x7F).astype(np.uint64) << np.uint64(7 * j)
    if bool((v >= np.uint64(2 ** 62)).any()):
        raise _Irregular
    return v.astype(np.int64)
