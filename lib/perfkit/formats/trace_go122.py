"""Parser for the Go 1.22+ execution trace format (headers ``go 1.22 trace`` .. ``go 1.26 trace``).

Written from the format description in Go's internal/trace/tracev2 (event specs)
and the runtime's trace writer. A file is a 16-byte header followed by
*batches*: ``EventBatch`` (type byte 1, then varints generation, M, timestamp,
byte size) and, for experiments, ``ExperimentalBatch``; Go 1.26 writes one
``EndOfGeneration`` byte between generations. A batch holds either a
dictionary section (``Strings``, ``Stacks``), CPU samples, the ``Sync`` section
(``Frequency`` and, from 1.25, ``ClockSnapshot``), or the events an M wrote.
String and stack ids are local to a generation.

In an event batch every event is ``type byte`` + a fixed number of unsigned
LEB128 varints (the first is the tick delta from the previous event of the
batch). Every type byte is < 0x80, so an event batch is a pure varint stream.
The parser is vectorized per *chunk* (a run of whole batches, a few MB):

1. all varints of the chunk are decoded with numpy (terminator bytes, then
   up to 10 shift-or passes over the shrinking set of longer varints);
2. event starts are found by walking all batches of the chunk in lock-step
   (step = 1 + number of arguments of the type at the cursor), so the Python
   loop runs once per event *index within a batch*, not once per event;
3. columns (type, tick delta, args, batch) are gathered with fancy indexing.

Timestamps follow Go's reader exactly: ``time = ns(batch.time) + sum ns(dt)``
with ``ns(x) = int(float(x) * ns_per_tick)``. Each event's P and G (the M's
scheduling context) is a forward fill over each M's events (ProcStart/ProcStop,
GoStart/GoStop/GoBlock/GoDestroy/..., GoStatus/ProcStatus). Events are then
ordered by time within each generation (stable, so an M's own order is kept)
and forced strictly increasing, as Go's reader does. Go orders events across
Ms with sequence numbers instead of time; with a monotonic clock the two only
differ for events written in the same nanosecond.

Event type names are the names Go's tracev2 specs use (the names
``go tool trace -d=footprint`` prints). Type code = wire type byte.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import TraceError
from ..model.trace import FrameTable, NOTEXIST, RUNNABLE, RUNNING, SYSCALL, TableSpec, Trace, WAITING

HEADER_LEN = 16
MAX_BATCH = 64 << 10
MAX_STRING = 1 << 10
MAX_FRAMES = 128
CHUNK_BYTES = 16 << 20
_BAD_STEP = 1 << 30

# code: (name, number of varint args after the type byte, min minor version,
#        index of the main stack arg among post-dt args or -1, string arg indices (post-dt))
_SPECS = [
    ("None", 0, 22, -1, ()),
    ("EventBatch", 4, 22, -1, ()),
    ("Stacks", 0, 22, -1, ()),
    ("Stack", 2, 22, -1, ()),
    ("Strings", 0, 22, -1, ()),
    ("String", 1, 22, -1, ()),
    ("CPUSamples", 0, 22, -1, ()),
    ("CPUSample", 5, 22, -1, ()),
    ("Frequency", 1, 22, -1, ()),
    ("ProcsChange", 3, 22, 1, ()),
    ("ProcStart", 3, 22, -1, ()),
    ("ProcStop", 1, 22, -1, ()),
    ("ProcSteal", 4, 22, -1, ()),
    ("ProcStatus", 3, 22, -1, ()),
    ("GoCreate", 4, 22, 2, ()),
    ("GoCreateSyscall", 2, 22, -1, ()),
    ("GoStart", 3, 22, -1, ()),
    ("GoDestroy", 1, 22, -1, ()),
    ("GoDestroySyscall", 1, 22, -1, ()),
    ("GoStop", 3, 22, 1, (0,)),
    ("GoBlock", 3, 22, 1, (0,)),
    ("GoUnblock", 4, 22, 2, ()),
    ("GoSyscallBegin", 3, 22, 1, ()),
    ("GoSyscallEnd", 1, 22, -1, ()),
    ("GoSyscallEndBlocked", 1, 22, -1, ()),
    ("GoStatus", 4, 22, -1, ()),
    ("STWBegin", 3, 22, 1, (0,)),
    ("STWEnd", 1, 22, -1, ()),
    ("GCActive", 2, 22, -1, ()),
    ("GCBegin", 3, 22, 1, ()),
    ("GCEnd", 2, 22, -1, ()),
    ("GCSweepActive", 2, 22, -1, ()),
    ("GCSweepBegin", 2, 22, 0, ()),
    ("GCSweepEnd", 3, 22, -1, ()),
    ("GCMarkAssistActive", 2, 22, -1, ()),
    ("GCMarkAssistBegin", 2, 22, 0, ()),
    ("GCMarkAssistEnd", 1, 22, -1, ()),
    ("HeapAlloc", 2, 22, -1, ()),
    ("HeapGoal", 2, 22, -1, ()),
    ("GoLabel", 2, 22, -1, (0,)),
    ("UserTaskBegin", 5, 22, 3, (2,)),
    ("UserTaskEnd", 3, 22, 1, ()),
    ("UserRegionBegin", 4, 22, 2, (1,)),
    ("UserRegionEnd", 4, 22, 2, (1,)),
    ("UserLog", 5, 22, 3, (1, 2)),
    ("GoSwitch", 3, 23, -1, ()),
    ("GoSwitchDestroy", 3, 23, -1, ()),
    ("GoCreateBlocked", 4, 23, 2, ()),
    ("GoStatusStack", 5, 23, 3, ()),
    ("ExperimentalBatch", 4, 23, -1, ()),
    ("Sync", 0, 25, -1, ()),
    ("ClockSnapshot", 4, 25, -1, ()),
    ("EndOfGeneration", 0, 26, -1, ()),
]
NAMES = [s[0] for s in _SPECS]
EV = {n: i for i, n in enumerate(NAMES)}
# events that appear in M event batches ("timed" events)
_STRUCTURAL = {"None", "EventBatch", "Stacks", "Stack", "Strings", "String", "CPUSamples", "CPUSample",
               "Frequency", "ExperimentalBatch", "Sync", "ClockSnapshot", "EndOfGeneration"}
# other (secondary) stack args, post-dt index: GoCreate/GoCreateBlocked new_stack
_EXTRA_STACK_ARGS = {EV["GoCreate"]: (1,), EV["GoCreateBlocked"]: (1,)}

# goroutine status codes (tracev2.GoStatus) and P status codes
GO_RUNNABLE, GO_RUNNING, GO_SYSCALL, GO_WAITING = 1, 2, 3, 4
PROC_RUNNING, PROC_IDLE, PROC_SYSCALL = 1, 2, 3
MAX_U64 = (1 << 64) - 1


def _step_table(minor: int) -> np.ndarray:
    """1 + number of varint args per type byte for timed events of this version; 0 = invalid."""
    t = np.zeros(256, np.int64)
    for code, (name, nargs, vmin, _, _) in enumerate(_SPECS):
        if name not in _STRUCTURAL and vmin <= minor:
            t[code] = 1 + nargs
    return t


class _Reader:
    def __init__(self, data: bytes, source: str, minor: int):
        self.data, self.source, self.minor = data, source, minor
        self.n = len(data)

    def err(self, problem: str, off: int):
        raise TraceError(self.source, problem, int(off))

    def read_uvarint(self, pos: int, limit: int, what: str = "varint") -> tuple[int, int]:
        data = self.data
        v = shift = 0
        start = pos
        while True:
            if pos >= limit:
                if limit < self.n:
                    self.err(f"malformed {what}: varint runs past the end of its batch", start)
                self.err(f"truncated trace: {what} runs past the end of the data", start)
            b = data[pos]
            pos += 1
            if shift == 63 and b > 1:
                self.err(f"malformed {what}: varint overflows 64 bits", start)
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v, pos
            shift += 7
            if shift > 63:
                self.err(f"malformed {what}: varint longer than 10 bytes", start)


def parse_v2(data: bytes, source: str = "<trace>", minor: int = 22) -> Trace:
    if minor < 22 or minor > 26:
        raise TraceError(source, f"go 1.{minor} trace is outside the supported 1.22+ range 1.22-1.26", 0)
    r = _Reader(data, source, minor)
    n = len(data)
    if n < HEADER_LEN:
        r.err("truncated trace: header shorter than 16 bytes", n)
    counts: dict[str, int] = {}

    def count_event(name, k=1):
        counts[name] = counts.get(name, 0) + k

    # generations: list of dicts {gen, strings{id:str}, stacks{id:[(pc,fn,file,line)]}, freq, snap}
    gens: list[dict] = []
    cur = None
    # event batches: file data offset, size, m, time, generation index
    b_off, b_size, b_m, b_time, b_gen = [], [], [], [], []
    cpu = []   # (gen idx, time ticks, m, p, g, stack)
    off = HEADER_LEN
    ended = True          # the previous generation was closed by EndOfGeneration (1.26)
    eog = EV["EndOfGeneration"]
    while off < n:
        start = off
        b0 = data[off]
        if b0 == eog and minor >= 26:
            count_event("EndOfGeneration")
            if cur is None or ended:
                r.err("EndOfGeneration without a generation", start)
            ended = True
            off += 1
            continue
        if b0 != EV["EventBatch"] and not (b0 == EV["ExperimentalBatch"] and minor >= 23):
            r.err(f"expected a batch header, got event type byte {b0}", start)
        off += 1
        exp = 0
        if b0 == EV["ExperimentalBatch"]:
            if off >= n:
                r.err("truncated trace: batch header runs past the end of the data", start)
            exp = data[off]
            off += 1
        gen, off = r.read_uvarint(off, n, "batch generation")
        m, off = r.read_uvarint(off, n, "batch M id")
        bts, off = r.read_uvarint(off, n, "batch timestamp")
        size, off = r.read_uvarint(off, n, "batch size")
        if gen == 0:
            r.err("invalid generation number 0", start)
        if size > MAX_BATCH:
            r.err(f"invalid batch size {size}, maximum is {MAX_BATCH}", start)
        if off + size > n:
            r.err(f"truncated trace: batch of {size} bytes runs past the end of the data", start)
        if cur is None or gen != cur["gen"]:
            if minor >= 26 and cur is not None and not ended:
                r.err("broken trace: missing end-of-generation event, or generations are interleaved", start)
            if cur is not None and gen <= cur["gen"]:
                r.err(f"generations out of order: {gen} after {cur['gen']}", start)
            cur = {"gen": gen, "strings": {}, "stacks": {}, "freq": 0, "snap": False, "off": start,
                   "min_ts": bts}
            gens.append(cur)
            ended = False
        elif minor >= 26 and ended:
            r.err(f"generation {gen} continues after its EndOfGeneration", start)
        cur["min_ts"] = min(cur["min_ts"], bts)
        count_event("EventBatch" if not exp else "ExperimentalBatch")
        end = off + size
        if exp or size == 0:
            off = end
            continue
        kind = data[off]
        if kind == EV["Strings"]:
            _read_strings(r, off, end, cur, count_event)
        elif kind == EV["Stacks"]:
            _read_stacks(r, off, end, cur, count_event)
        elif kind == EV["CPUSamples"]:
            _read_cpu(r, off, end, len(gens) - 1, cpu, count_event)
        elif (kind == EV["Sync"] and minor >= 25) or (kind == EV["Frequency"] and minor < 25):
            _read_sync(r, off, end, cur, count_event, bts)
        else:
            b_off.append(off); b_size.append(size); b_m.append(m); b_time.append(bts)
            b_gen.append(len(gens) - 1)
        off = end
    if not gens:
        r.err("no batches in the trace (truncated?)", n)
    if minor >= 26 and not ended:
        r.err("truncated trace: incomplete generation (no EndOfGeneration)", n)
    for gi, g in enumerate(gens):
        if not g["freq"]:
            r.err(f"no frequency event in generation {g['gen']}", g["off"])
        if minor >= 25 and not g["snap"]:
            r.err(f"no clock snapshot event in generation {g['gen']}", g["off"])

    # ---- event batches, chunk by chunk ----------------------------------------------------
    step = _step_table(minor)
    nb = len(b_off)
    b_off_a = np.asarray(b_off, np.int64)
    b_size_a = np.asarray(b_size, np.int64)
    cols = {"type": [], "dt": [], "args": [], "bid": []}
    i = 0
    while i < nb:
        j, tot = i, 0
        while j < nb and (tot < CHUNK_BYTES or j == i):
            tot += b_size[j]
            j += 1
        _decode_chunk(r, b_off_a[i:j], b_size_a[i:j], i, step, cols)
        i = j
    if cols["type"]:
        typ = np.concatenate(cols["type"])
        dt = np.concatenate(cols["dt"])
        args = np.concatenate(cols["args"])
        bid = np.concatenate(cols["bid"])
    else:
        typ = np.zeros(0, np.uint8); dt = np.zeros(0, np.uint64)
        args = np.zeros((0, 4), np.uint64); bid = np.zeros(0, np.int64)
    del cols
    for code, k in zip(*np.unique(typ, return_counts=True)):
        count_event(NAMES[int(code)], int(k))
    return _finish_go122(r, gens, counts, typ, dt, args, bid, np.asarray(b_m, np.uint64),
                   np.asarray(b_time, np.uint64), np.asarray(b_gen, np.int64), cpu)


def _read_strings(r: _Reader, off, end, g, count_event):
    data = r.data
    count_event("Strings")
    off += 1
    table = g["strings"]
    while off < end:
        ev_off = off
        if data[off] != EV["String"]:
            r.err(f"expected a String event in a strings batch, got type {data[off]}", off)
        sid, off = r.read_uvarint(off + 1, end, "string id")
        ln, off = r.read_uvarint(off, end, "string length")
        if ln > MAX_STRING:
            r.err(f"invalid string size {ln}, maximum is {MAX_STRING}", ev_off)
        if off + ln > end:
            r.err("malformed string: runs past the end of its batch", ev_off)
        if sid in table:
            r.err(f"duplicate string id {sid}", ev_off)
        table[sid] = data[off:off + ln].decode("utf-8", "replace")
        off += ln
        count_event("String")


def _read_stacks(r: _Reader, off, end, g, count_event):
    data = r.data
    count_event("Stacks")
    off += 1
    table = g["stacks"]
    uv = r.read_uvarint
    while off < end:
        ev_off = off
        if data[off] != EV["Stack"]:
            r.err(f"expected a Stack event in a stacks batch, got type {data[off]}", off)
        sid, off = uv(off + 1, end, "stack id")
        nf, off = uv(off, end, "stack frame count")
        if nf > MAX_FRAMES:
            r.err(f"invalid stack size {nf}, maximum is {MAX_FRAMES}", ev_off)
        frames = []
        for _ in range(nf):
            pc, off = uv(off, end, "frame pc")
            fn, off = uv(off, end, "frame function")
            fl, off = uv(off, end, "frame file")
            line, off = uv(off, end, "frame line")
            frames.append((pc, fn, fl, line))
        if sid in table:
            r.err(f"duplicate stack id {sid}", ev_off)
        table[sid] = frames
        count_event("Stack")


def _read_cpu(r: _Reader, off, end, gi, cpu, count_event):
    data = r.data
    count_event("CPUSamples")
    off += 1
    while off < end:
        if data[off] != EV["CPUSample"]:
            r.err(f"expected a CPUSample event, got type {data[off]}", off)
        off += 1
        vals = []
        for _ in range(5):
            v, off = r.read_uvarint(off, end, "CPU sample")
            vals.append(v)
        cpu.append((gi, *vals))
        count_event("CPUSample")


def _read_sync(r: _Reader, off, end, g, count_event, bts):
    data = r.data
    if r.minor >= 25:
        count_event("Sync")
        off += 1
    last = bts
    while off < end:
        ev_off = off
        t = data[off]
        off += 1
        if t == EV["Frequency"]:
            if g["freq"]:
                r.err("found multiple frequency events", ev_off)
            f, off = r.read_uvarint(off, end, "frequency")
            if f == 0:
                r.err("frequency is zero", ev_off)
            g["freq"] = f
            count_event("Frequency")
        elif t == EV["ClockSnapshot"] and r.minor >= 25:
            if g["snap"]:
                r.err("found multiple clock snapshot events", ev_off)
            vals = []
            for _ in range(4):
                v, off = r.read_uvarint(off, end, "clock snapshot")
                vals.append(v)
            g["snap"] = True
            g["snapshot"] = {"trace_ticks": last + vals[0], "mono": vals[1], "sec": vals[2], "nsec": vals[3]}
            count_event("ClockSnapshot")
        else:
            r.err(f"expected a frequency or clock snapshot event, got type {t}", ev_off)


def _decode_chunk(r: _Reader, offs, sizes, bid0, step, cols):
    """Decode the event batches [offs, offs+sizes) (one chunk) into column arrays."""
    data = r.data
    buf = np.frombuffer(b"".join(data[o:o + s] for o, s in zip(offs.tolist(), sizes.tolist())), np.uint8)
    cstart = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=cstart[1:])

    def file_off(pos):   # chunk byte position -> file byte offset
        k = int(np.searchsorted(cstart, pos, side="right") - 1)
        return int(offs[k] + (pos - cstart[k]))

    term = buf < 0x80
    # a varint may not cross the end of its batch
    last = cstart[1:] - 1
    bad = ~term[last]
    if bad.any():
        k = int(np.argmax(bad))
        # find the start of the unterminated varint
        p = int(last[k])
        while p > cstart[k] and not term[p - 1]:
            p -= 1
        r.err("malformed event: varint runs past the end of its batch", file_off(p))
    ends = np.flatnonzero(term)
    if len(buf) < 2**31:                   # chunk positions: int32 halves these big arrays
        ends = ends.astype(np.int32)
    starts = np.empty_like(ends)
    starts[0] = 0
    np.add(ends[:-1], 1, out=starts[1:])
    extra = ends - starts                  # bytes of each varint, minus one
    maxlen = int(extra.max()) + 1 if len(extra) else 1
    if maxlen > 10:
        k = int(np.argmax(extra >= 10))
        r.err("malformed event: varint longer than 10 bytes", file_off(int(starts[k])))
    V = (buf[starts] & 0x7F).astype(np.uint64)
    idx = None
    for k in range(1, maxlen):
        idx = np.flatnonzero(extra >= k) if idx is None else idx[extra[idx] >= k]
        byte = buf[starts[idx] + k]
        if k == 9 and (byte > 1).any():
            q = int(idx[np.argmax(byte > 1)])
            r.err("malformed event: varint overflows 64 bits", file_off(int(starts[q])))
        V[idx] |= (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k)
    del extra, idx, term
    # varint index range of each batch
    vb = np.searchsorted(ends, cstart[:-1])
    ve = np.searchsorted(ends, cstart[1:])
    st = step.astype(np.int32)[V.astype(np.uint8)]
    st[(st == 0) | (V > 255)] = _BAD_STEP             # an unknown event type runs past its batch: found below
    # lock-step walk over all batches of the chunk, one event per batch per round
    cur, lim = vb.copy(), ve.copy()
    keep = cur < lim
    cur, lim = cur[keep], lim[keep]
    found = []
    nv = len(V)
    while len(cur):
        found.append(cur)
        nxt = cur + st[cur]
        keep = nxt < lim
        if not keep.all():
            over = nxt > lim
            if over.any():
                q = int(cur[np.argmax(over)])
                if st[q] == _BAD_STEP:
                    r.err(f"unknown event type {int(min(V[q], 2**63))} for go 1.{r.minor} trace",
                          file_off(int(starts[q])))
                r.err("truncated event: its arguments run past the end of its batch", file_off(int(starts[q])))
            nxt, lim = nxt[keep], lim[keep]
        cur = nxt
    if not found:
        return
    is_event = np.zeros(nv, bool)          # marking, then one scan: cheaper than sorting
    is_event[np.concatenate(found)] = True
    del found
    pos = np.flatnonzero(is_event)
    del is_event
    typ = V[pos].astype(np.uint8)
    dt = V[np.minimum(pos + 1, nv - 1)]
    nargs = st[pos] - 2          # post-dt args
    del st
    args = np.zeros((len(pos), 4), np.uint64)
    for k in range(4):
        m = nargs > k
        args[m, k] = V[pos[m] + 2 + k]
    bid = np.searchsorted(vb, pos, side="right") - 1 + bid0
    cols["type"].append(typ); cols["dt"].append(dt); cols["args"].append(args); cols["bid"].append(bid)


def _finish_go122(r, gens, counts, typ, dt, args, bid, b_m, b_time, b_gen, cpu) -> Trace:
    ne = len(typ)
    # ---- timestamps (Go: Time(float64(ticks) * ns_per_tick), per batch, cumulative) ----
    nspt = np.asarray([1.0 / (float(g["freq"]) / 1e9) for g in gens], np.float64)
    b_base = (b_time.astype(np.float64) * nspt[b_gen]).astype(np.int64) if len(b_time) else np.zeros(0, np.int64)
    inc = (dt.astype(np.float64) * nspt[b_gen[bid]]).astype(np.int64) if ne else np.zeros(0, np.int64)
    del dt
    cs = np.cumsum(inc)
    first = np.ones(ne, bool)
    if ne:
        first[1:] = bid[1:] != bid[:-1]
    seg0 = np.maximum.accumulate(np.where(first, np.arange(ne), 0)) if ne else np.zeros(0, np.int64)
    ts = b_base[bid] + cs - (cs[seg0] - inc[seg0]) if ne else np.zeros(0, np.int64)
    del cs, inc, seg0, first
    ev_gen = b_gen[bid] if ne else np.zeros(0, np.int64)
    ev_m = b_m[bid] if ne else np.zeros(0, np.uint64)

    # ---- strings and stacks: per-generation ids -> global, deduplicated ----
    str_index: dict[str, int] = {"": 0}
    str_table: list[str] = [""]
    stk_index: dict[tuple, int] = {}
    table = FrameTable()
    stack_index: dict[int, tuple[int, int]] = {}
    str_lut, stk_lut = [], []
    for g in gens:
        smax = max(g["strings"], default=0)
        lut = np.zeros(smax + 2, np.int64)
        for sid, s in g["strings"].items():
            k = str_index.get(s)
            if k is None:
                k = str_index[s] = len(str_table)
                str_table.append(s)
            lut[sid] = k
        str_lut.append(lut)
        kmax = max(g["stacks"], default=0)
        lut = np.zeros(kmax + 2, np.int64)
        strings = g["strings"]
        for sid, frames in g["stacks"].items():
            if not frames:
                continue
            key = tuple(frames[i][0] for i in range(len(frames)))
            gid = stk_index.get(key)
            if gid is None:
                gid = stk_index[key] = len(stk_index) + 1
                stack_index[gid] = table.add_stack(frames, strings)
            lut[sid] = gid
        stk_lut.append(lut)

    def remap(col, luts):
        out = np.zeros(len(col), np.int64)
        for gi, lut in enumerate(luts):
            sl = _gen_slice(ev_gen, gi)
            c = col[sl]
            out[sl] = lut[np.minimum(c, np.uint64(len(lut) - 1)).astype(np.intp)]
        return out

    stack = np.zeros(ne, np.int64)
    for code, (name, nargs, _, si, strs) in enumerate(_SPECS):
        if si < 0 and not strs and code not in _EXTRA_STACK_ARGS:
            continue
        m = typ == code
        if not m.any():
            continue
        k = np.flatnonzero(m)
        sub_gen = ev_gen[k]
        for ai in strs:
            args[k, ai] = _remap_sub(args[k, ai], sub_gen, str_lut)
        if si >= 0:
            args[k, si] = _remap_sub(args[k, si], sub_gen, stk_lut)
            stack[k] = args[k, si].astype(np.int64)
        for ai in _EXTRA_STACK_ARGS.get(code, ()):
            args[k, ai] = _remap_sub(args[k, ai], sub_gen, stk_lut)

    # ---- scheduling context: forward fill of each M's P and G ----
    p, g = _context(typ, args, b_m, bid, ne)

    # ---- CPU samples ----
    if cpu:
        ca = np.asarray([c[1:] for c in cpu], np.uint64)
        cg = np.asarray([c[0] for c in cpu], np.int64)
        c_ts = (ca[:, 0].astype(np.float64) * nspt[cg]).astype(np.int64)
        c_stk = _remap_sub(ca[:, 4], cg, stk_lut).astype(np.int64)
        c_args = np.zeros((len(cpu), 4), np.uint64)
        c_args[:, 0], c_args[:, 1], c_args[:, 2], c_args[:, 3] = ca[:, 1], ca[:, 2], ca[:, 3], c_stk
        ts = np.concatenate([ts, c_ts]); typ = np.concatenate([typ, np.full(len(cpu), EV["CPUSample"], np.uint8)])
        pp = ca[:, 2]
        p = np.concatenate([p, np.where(pp == MAX_U64, -1, np.minimum(pp, 2**31 - 1)).astype(p.dtype)])
        g = np.concatenate([g, np.minimum(ca[:, 3], 2**62).astype(np.int64)])
        args = np.concatenate([args, c_args]); stack = np.concatenate([stack, c_stk])
        ev_gen = np.concatenate([ev_gen, cg])
        ev_m = np.concatenate([ev_m, ca[:, 1]])

    # ---- order: by generation, then time (stable); force strictly increasing like Go ----
    order = np.lexsort((ts, ev_gen)) if len(ts) else np.zeros(0, np.int64)
    ts = ts[order]
    typ, p, g, stack, ev_m = typ[order], p[order], g[order], stack[order], ev_m[order]
    for k in range(args.shape[1]):          # column by column: no second copy of the whole table
        args[:, k] = args[order, k]
    del order
    if len(ts):
        ar = np.arange(len(ts), dtype=np.int64)
        ts = np.maximum.accumulate(ts - ar) + ar
        t0 = int(ts[0])
        ts -= t0
    else:
        t0 = 0
    counts.pop("None", None)
    structural = {k: v for k, v in counts.items() if k in _STRUCTURAL and k != "CPUSample"}
    snaps = [g_.get("snapshot") for g_ in gens]
    return Trace(
        source=r.source, version=f"1.{r.minor}", generation="v2", type_names=list(NAMES),
        ts=ts, type=typ, p=p, g=g, args=args, stack=stack, stack_index=stack_index,
        **table.columns(), table_spec=GO122_TABLES,
        strings=dict(enumerate(str_table)), ticks_per_sec=int(gens[0]["freq"]),
        extra={"extra_counts": structural, "string_table": np.asarray(str_table, dtype=object),
               "m": ev_m, "generations": len(gens), "t0_ns": t0, "clock_snapshots": snaps},
    )


def _gen_slice(ev_gen, gi):
    a = int(np.searchsorted(ev_gen, gi, side="left"))
    b = int(np.searchsorted(ev_gen, gi, side="right"))
    return slice(a, b)


def _remap_sub(col, gen, luts):
    out = np.zeros(len(col), np.uint64)
    for gi in np.unique(gen).tolist():
        m = gen == gi
        lut = luts[gi]
        out[m] = lut[np.minimum(col[m], np.uint64(len(lut) - 1)).astype(np.intp)].astype(np.uint64)
    return out


def _among(types: np.ndarray, codes) -> np.ndarray:
    """types (uint8 event codes) in codes: a table lookup, faster than np.isin."""
    lut = np.zeros(256, bool)
    lut[np.asarray(codes, np.intp)] = True
    return lut[types]


def _context(typ, args, b_m, bid, ne):
    """Per event, the P and G of the M that wrote it (before the event takes effect).

    Memory: int32 positions, and the status/owner comparisons only on the rows they concern.
    """
    if ne == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    ix = np.int32 if ne < 2**31 else np.int64
    mu, b_dense = np.unique(b_m, return_inverse=True)        # per batch: few, not per event
    m_dense = b_dense.reshape(-1).astype(np.int16 if len(mu) < 32000 else np.int32)[bid]
    order = np.argsort(m_dense, kind="stable").astype(ix)
    T = typ[order]
    md = m_dense[order]
    del m_dense
    seg_first = np.ones(ne, bool)
    seg_first[1:] = md[1:] != md[:-1]
    seg0 = np.maximum.accumulate(np.where(seg_first, np.arange(ne, dtype=ix), ix(0)))
    del seg_first

    def ffill(setmask, setval, clearmask):
        """value in effect *before* each event, per M."""
        last = np.where(setmask | clearmask, np.arange(ne, dtype=ix), ix(-1))
        # shift: value before event i = value set at the last defining j < i, if j is on the same M
        prev = np.empty(ne, ix)
        prev[0] = -1
        np.maximum.accumulate(last[:-1], out=prev[1:])
        del last
        ok = prev >= seg0
        np.maximum(prev, 0, out=prev)
        out = np.where(setmask, setval, 0)[prev]
        out[~ok] = 0
        return out

    def rows_where(mask):
        return np.flatnonzero(mask)

    E = EV
    A0 = args[order, 0]
    # G
    is_status = _among(T, [E["GoStatus"], E["GoStatusStack"]])
    st_rows = rows_where(is_status)
    st_ev = order[st_rows]
    status = args[st_ev, 2]
    own = args[st_ev, 1] == mu[md[st_rows]]
    g_set = _among(T, [E["GoStart"], E["GoSwitch"], E["GoSwitchDestroy"], E["GoCreateSyscall"]])
    g_set[st_rows[(status == GO_RUNNING) | ((status == GO_SYSCALL) & own)]] = True
    g_clear = _among(T, [E["GoStop"], E["GoBlock"], E["GoDestroy"], E["GoDestroySyscall"],
                         E["GoSyscallEndBlocked"]])
    gval = np.minimum(A0, np.uint64(2**62)).astype(np.int64)
    g_before = ffill(g_set, gval, g_clear)
    del g_set, g_clear
    # P
    p_set = T == E["ProcStart"]
    ps_rows = rows_where(T == E["ProcStatus"])
    p_set[ps_rows[args[order[ps_rows], 1] == PROC_RUNNING]] = True
    p_clear = T == E["ProcStop"]
    steal = rows_where(T == E["ProcSteal"])
    p_clear[steal[args[order[steal], 2] == mu[md[steal]]]] = True
    pval = np.minimum(A0, np.uint64(2**31 - 1)).astype(np.int32) + np.int32(1)    # +1: 0 means "no P"
    del A0
    p_before = ffill(p_set, pval, p_clear) - 1
    del p_set, p_clear
    # the event's own G/P: GoStart & co. name the goroutine they start; ProcStart its P
    gcol = np.where(_among(T, [E["GoStart"], E["GoCreateSyscall"]]), gval, g_before)
    del g_before
    pcol = np.where(T == E["ProcStart"], pval - 1, p_before)
    del p_before, pval
    # a goroutine found in a syscall by another M's GoStatus: bind it to that M
    need = np.flatnonzero((gcol == 0) & _among(T, [E["GoSyscallEnd"], E["GoSyscallEndBlocked"],
                                                    E["GoDestroySyscall"]]))
    if len(need):
        st = st_rows[status == GO_SYSCALL]
        bind = {int(args[order[i], 1]): int(gval[i]) for i in st}
        for i in need.tolist():
            gcol[i] = bind.get(int(mu[md[i]]), 0)
    p = np.empty(ne, np.int32)
    g = np.empty(ne, np.int64)
    p[order] = pcol
    g[order] = gcol
    return p, g


# ---- normalised tables ------------------------------------------------------------------------
def _go122_transitions(t: Trace) -> pd.DataFrame:
    """Goroutine state transitions as Go's internal/trace reports them for 1.22+ traces."""
    ty, ts, g, a, stk = t.type, t.ts, t.g, t.args, t.stack
    S = t.extra.get("string_table")
    if S is None:
        S = np.asarray([t.strings.get(i, "") for i in range(max(t.strings, default=0) + 1)], dtype=object)
    n = len(ty)
    C = EV
    a0 = np.minimum(a[:, 0], np.uint64(2**62)).astype(np.int64)
    parts = []           # (event rows, g column, state, reason, stack?, sub)
    status_state = np.array([NOTEXIST, RUNNABLE, RUNNING, SYSCALL, WAITING, NOTEXIST], np.int8)

    def push(code, gcol, state, reason="", stack=False, sub=0):
        k = np.flatnonzero(ty == code) if np.isscalar(code) else np.flatnonzero(_among(ty, code))
        if len(k):
            parts.append((k, gcol, state, reason, stack, sub))

    reason_of_a0 = None
    blk = _among(ty, [C["GoStop"], C["GoBlock"]])
    if blk.any():
        reason_of_a0 = np.full(n, "", dtype=object)
        k = np.flatnonzero(blk)
        reason_of_a0[k] = S[np.minimum(a[k, 0], np.uint64(len(S) - 1)).astype(np.intp)]
    push(C["GoCreate"], a0, RUNNABLE, stack=True)
    push(C["GoCreateBlocked"], a0, WAITING, stack=True)
    push(C["GoCreateSyscall"], a0, SYSCALL)
    push(C["GoStart"], a0, RUNNING)
    push([C["GoDestroy"], C["GoDestroySyscall"]], g, NOTEXIST)
    if reason_of_a0 is not None:
        push(C["GoStop"], g, RUNNABLE, reason_of_a0, stack=True)
        push(C["GoBlock"], g, WAITING, reason_of_a0, stack=True)
    push(C["GoUnblock"], a0, RUNNABLE, stack=True)
    push(C["GoSwitch"], g, WAITING, "coroutine")
    push(C["GoSwitchDestroy"], g, NOTEXIST)
    push([C["GoSwitch"], C["GoSwitchDestroy"]], a0, RUNNING, sub=1)
    push(C["GoSyscallBegin"], g, SYSCALL, stack=True)
    push(C["GoSyscallEnd"], g, RUNNING)
    push(C["GoSyscallEndBlocked"], g, RUNNABLE)
    st = status_state[np.minimum(a[:, 2], np.uint64(5)).astype(np.intp)]
    push([C["GoStatus"], C["GoStatusStack"]], a0, st, stack=True)
    if not parts:
        return pd.DataFrame({"ts": [], "g": [], "state": [], "reason": [], "stack": [], "ord": []})
    # one row per (event, part), in event order: build each column once, already sorted
    ords = np.concatenate([k.astype(np.int64) * 4 + sub for k, _, _, _, _, sub in parts])
    gs = np.concatenate([gcol[k] for k, gcol, _, _, _, _ in parts])
    order = np.argsort(ords, kind="stable")
    order = order[gs[order] > 0]
    ords, gs = ords[order], gs[order]
    ks = np.concatenate([k for k, *_ in parts])[order]
    state = np.concatenate([state[k] if isinstance(state, np.ndarray) else np.full(len(k), state, np.int8)
                            for k, _, state, _, _, _ in parts]).astype(np.int8)[order]
    has_stack = np.concatenate([np.full(len(k), stack) for k, _, _, _, stack, _ in parts])[order]
    stack = np.where(has_stack, stk[ks], 0)
    plain = all(isinstance(r, str) and r == "" for _, _, _, r, _, _ in parts)
    if plain:
        reason = np.full(len(ks), "", dtype=object)
    else:
        reason = np.concatenate([r[k] if isinstance(r, np.ndarray) else np.full(len(k), r, dtype=object)
                                 for k, _, _, r, _, _ in parts])[order]
    return pd.DataFrame({"ts": ts[ks], "g": gs, "state": state, "reason": reason, "stack": stack, "ord": ords},
                        copy=False)


def _go122_p_events(t: Trace):
    """(p, ts, is_start, g) of the events that start/stop a goroutine running on a P."""
    C = EV
    start_codes = [C["GoStart"], C["GoSyscallEnd"], C["GoSwitch"], C["GoSwitchDestroy"]]
    stop_codes = [C["GoStop"], C["GoBlock"], C["GoDestroy"], C["GoSyscallBegin"], C["ProcStop"],
                  C["GoSyscallEndBlocked"]]
    m = _among(t.type, start_codes + stop_codes) & (t.p >= 0)
    k = np.flatnonzero(m)
    is_start = _among(t.type[k], start_codes)
    g = t.g[k].copy()
    sw = _among(t.type[k], [C["GoSwitch"], C["GoSwitchDestroy"]])
    g[sw] = t.args[k[sw], 0].astype(np.int64)
    return t.p[k].astype(np.int64), t.ts[k], is_start, g


GO122_TABLES = TableSpec(transitions=_go122_transitions, p_events=_go122_p_events,
                         gc=("GCBegin", "GCEnd"), stw=("STWBegin", "STWEnd"), create="GoCreate",
                         heap_alloc="HeapAlloc", procs="ProcsChange")
