"""Parser for the pre-1.22 runtime/trace format family (headers ``go 1.11 trace`` .. ``go 1.21 trace``).

Written from the format description in Go's runtime/trace.go (1.11-1.21) and
internal/trace: a file is a 16-byte header followed by per-P *batches*. Each
event starts with one byte ``type | (nargs-1) << 6``; arguments are unsigned
LEB128 varints; with the top bits equal to 3 the arguments are prefixed by
their byte length. The first argument of a timed event is the tick delta from
the previous event of the batch. ``String`` and ``Stack`` records build the
dictionaries, ``Frequency`` gives ticks per second.

Events are decoded into typed column arrays (``array``), then merged across
Ps by timestamp with numpy. The result is a :class:`perfkit.model.trace.Trace`
whose event names are the names Go's own parser uses for this format (the
``...Local`` variants are folded into their plain forms, as Go does), and whose
normalised tables map this format onto Go's 1.22+ goroutine model the way
`go tool trace` converts old traces (see ``_legacy_transitions``).
"""
from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from ..errors import TraceError
from .trace_legacy_fast import decode_events
from ..model.trace import (FrameTable, NOTEXIST, RUNNABLE, RUNNING, SYSCALL, TableSpec, Trace,
                           WAITING)

# code: (name, min minor version, has stack, number of named args)
_DESC = [
    ("None", 5, False, 0), ("Batch", 5, False, 2), ("Frequency", 5, False, 1), ("Stack", 5, False, 2),
    ("Gomaxprocs", 5, True, 1), ("ProcStart", 5, False, 1), ("ProcStop", 5, False, 0),
    ("GCStart", 5, True, 1), ("GCDone", 5, False, 0), ("GCSTWStart", 5, False, 1),
    ("GCSTWDone", 5, False, 0), ("GCSweepStart", 5, True, 0), ("GCSweepDone", 5, False, 2),
    ("GoCreate", 5, True, 2), ("GoStart", 5, False, 2), ("GoEnd", 5, False, 0),
    ("GoStop", 5, True, 0), ("GoSched", 5, True, 0), ("GoPreempt", 5, True, 0),
    ("GoSleep", 5, True, 0), ("GoBlock", 5, True, 0), ("GoUnblock", 5, True, 2),
    ("GoBlockSend", 5, True, 0), ("GoBlockRecv", 5, True, 0), ("GoBlockSelect", 5, True, 0),
    ("GoBlockSync", 5, True, 0), ("GoBlockCond", 5, True, 0), ("GoBlockNet", 5, True, 0),
    ("GoSysCall", 5, True, 0), ("GoSysExit", 5, False, 3), ("GoSysBlock", 5, False, 0),
    ("GoWaiting", 5, False, 1), ("GoInSyscall", 5, False, 1), ("HeapAlloc", 5, False, 1),
    ("HeapGoal", 5, False, 1), ("TimerGoroutine", 5, False, 1), ("FutileWakeup", 5, False, 0),
    ("String", 7, False, 0), ("GoStartLocal", 7, False, 1), ("GoUnblockLocal", 7, True, 1),
    ("GoSysExitLocal", 7, False, 2), ("GoStartLabel", 8, False, 3), ("GoBlockGC", 8, True, 0),
    ("GCMarkAssistStart", 9, True, 0), ("GCMarkAssistDone", 9, False, 0),
    ("UserTaskCreate", 11, True, 3), ("UserTaskEnd", 11, True, 1), ("UserRegion", 11, True, 3),
    ("UserLog", 11, True, 2), ("CPUSample", 19, True, 3),
]
NAMES = [d[0] for d in _DESC]
EV = {n: i for i, n in enumerate(NAMES)}
_UNTIMED = {EV["Batch"], EV["Frequency"], EV["TimerGoroutine"]}
# expected raw argument count (timestamp delta + named args + stack)
_NARGS = [(d[3] + (1 if d[2] else 0) + (0 if i in _UNTIMED else 1)) for i, d in enumerate(_DESC)]
_HAS_STACK = [d[2] for d in _DESC]
_LOCAL = {EV["GoStartLocal"]: EV["GoStart"], EV["GoUnblockLocal"]: EV["GoUnblock"],
          EV["GoSysExitLocal"]: EV["GoSysExit"]}
_STARTS_G = {EV["GoStart"], EV["GoStartLocal"], EV["GoStartLabel"]}
_ENDS_G = {EV[n] for n in ("GoEnd", "GoStop", "GoSched", "GoPreempt", "GoSleep", "GoBlock",
                           "GoBlockSend", "GoBlockRecv", "GoBlockSelect", "GoBlockSync",
                           "GoBlockCond", "GoBlockNet", "GoSysBlock", "GoBlockGC")}
_G_FROM_ARG = {EV["GoSysExit"], EV["GoSysExitLocal"], EV["GoWaiting"], EV["GoInSyscall"]}
MAX_U64 = (1 << 64) - 1
HEADER_LEN = 16


def parse_legacy(data: bytes, source: str = "<trace>", minor: int = 11) -> Trace:
    if minor < 11 or minor > 21:
        raise TraceError(source, f"go 1.{minor} trace is outside the supported pre-1.22 range 1.11-1.21", 0)
    fast = decode_events(data, minor, _DESC, EV, _NARGS, _HAS_STACK, _STARTS_G, _ENDS_G, _G_FROM_ARG, _LOCAL,
                         _UNTIMED, HEADER_LEN)
    if fast is not None:
        cols = {k: fast.pop(k) for k in ("ts", "type", "p", "g", "args", "stack")}   # the finish frees them
        return _finish_legacy(source, minor, fast["strings"], fast["stacks"], fast["timer_goids"], fast["ticks"],
                              fast["inline_strings"], cols)
    return _parse_loop(data, source, minor)


def _parse_loop(data: bytes, source: str, minor: int) -> Trace:
    """The event loop: the reference decoder, and the one that names what is wrong with a bad file."""
    mv = memoryview(data)
    n = len(data)
    off = HEADER_LEN
    # event columns
    c_ts, c_type, c_p, c_g = array("q"), array("B"), array("q"), array("q")
    c_a = [array("Q"), array("Q"), array("Q"), array("Q")]
    c_stk, c_ord = array("q"), array("q")
    strings: dict[int, str] = {}
    stacks: dict[int, list[tuple[int, int, int, int]]] = {}
    timer_goids: set[int] = set()
    ticks = 0
    last_g_of_p: dict[int, int] = {}
    cur_p = None
    last_ts = 0
    last_g = 0
    nargs_tab, hasstk = _NARGS, _HAS_STACK
    ev_string, ev_batch, ev_stack, ev_freq, ev_timer = (EV["String"], EV["Batch"], EV["Stack"],
                                                        EV["Frequency"], EV["TimerGoroutine"])
    ev_cpu, ev_userlog = EV["CPUSample"], EV["UserLog"]
    inline_strings: dict[str, int] = {}

    def varint_at(pos: int, limit: int) -> tuple[int, int]:
        v = 0
        shift = 0
        start = pos
        while True:
            if pos >= limit:
                if limit < n:
                    raise TraceError(source, "malformed varint: runs past the end of its argument block", start)
                raise TraceError(source, "truncated trace: varint runs past the end of the data", start)
            b = data[pos]
            pos += 1
            if shift == 63 and b > 1:
                raise TraceError(source, "malformed varint: value overflows 64 bits", start)
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v, pos
            shift += 7
            if shift > 63:
                raise TraceError(source, "malformed varint: longer than 10 bytes", start)

    seq = 0
    while off < n:
        ev_off = off
        b = data[off]
        off += 1
        typ = b & 0x3F
        narg = (b >> 6) + 1
        if typ == 0 or typ >= len(_DESC) or _DESC[typ][1] > minor:
            raise TraceError(source, f"unknown event type {typ} for go 1.{minor} trace", ev_off)
        if typ == ev_string:
            sid, off = varint_at(off, n)
            ln, off = varint_at(off, n)
            if sid == 0:
                raise TraceError(source, "string has invalid id 0", ev_off)
            if ln == 0 or ln > 1_000_000:
                raise TraceError(source, f"string has invalid length {ln}", ev_off)
            if off + ln > n:
                raise TraceError(source, "truncated trace: string runs past the end of the data", ev_off)
            if sid in strings:
                raise TraceError(source, f"string has duplicate id {sid}", ev_off)
            strings[sid] = bytes(mv[off:off + ln]).decode("utf-8", "replace")
            off += ln
            continue
        if typ == ev_batch:
            if narg != 2:
                raise TraceError(source, f"Batch has {narg} arguments, want 2", ev_off)
            pid, off = varint_at(off, n)
            bts, off = varint_at(off, n)
            if pid != MAX_U64 and pid > 0x7FFFFFFF:
                raise TraceError(source, f"processor id {pid} is too large", ev_off)
            if cur_p is not None:
                last_g_of_p[cur_p] = last_g
            cur_p = -1 if pid == MAX_U64 else pid
            last_g = last_g_of_p.get(cur_p, 0)
            last_ts = bts
            continue
        sargs = None
        if narg <= 3:
            args = []
            for _ in range(narg):
                v, off = varint_at(off, n)
                args.append(v)
        else:
            ln, off = varint_at(off, n)
            if ln > 2048:
                raise TraceError(source, f"length-prefixed arguments too long: {ln} bytes (limit 2048)", ev_off)
            end = off + ln
            if end > n:
                raise TraceError(source, "truncated trace: event arguments run past the end of the data", ev_off)
            args = []
            while off < end:
                v, off = varint_at(off, end)
                args.append(v)
            if typ == ev_userlog:
                ln, off = varint_at(off, n)
                if ln > 1_000_000 or off + ln > n:
                    raise TraceError(source, "truncated trace: log message runs past the end of the data", ev_off)
                sargs = bytes(mv[off:off + ln]).decode("utf-8", "replace")
                off += ln
        if cur_p is None and typ != ev_stack and typ != ev_freq:
            raise TraceError(source, f"event {NAMES[typ]} before the first batch header", ev_off)
        if typ == ev_stack:
            if len(args) < 2 or args[1] > 1000 or len(args) != 2 + 4 * args[1]:
                raise TraceError(source, "Stack record has a bad number of frames", ev_off)
            sid = args[0]
            if sid and args[1]:
                stacks[sid] = [tuple(args[2 + 4 * i: 6 + 4 * i]) for i in range(args[1])]
            continue
        want = nargs_tab[typ]
        if len(args) != want:
            raise TraceError(source, f"{NAMES[typ]} has {len(args)} arguments, want {want}", ev_off)
        if typ == ev_freq:
            ticks = args[0]
            if ticks <= 0:
                raise TraceError(source, "Frequency is zero", ev_off)
            continue
        if typ == ev_timer:
            timer_goids.add(args[0])
            continue
        if typ == ev_cpu:
            # [ts delta, real ts, p, g, stack]: kept aside, like Go's parser does
            ts, p, g, stk = args[1], args[2], args[3], args[4]
            c_ts.append(min(ts, 2**63 - 1)); c_type.append(typ)
            c_p.append(-1 if p == MAX_U64 or p > 2**62 else p); c_g.append(min(g, 2**63 - 1))
            c_a[0].append(0); c_a[1].append(p); c_a[2].append(g); c_a[3].append(0)
            c_stk.append(stk); c_ord.append(seq); seq += 1
            continue
        last_ts += args[0]
        if last_ts >= 2**63:
            raise TraceError(source, "timestamp overflows 63 bits", ev_off)
        body = args[1:-1] if hasstk[typ] else args[1:]
        stk = args[-1] if hasstk[typ] else 0
        g = last_g
        if typ in _STARTS_G:
            last_g = g = body[0]
        elif typ in _ENDS_G:
            last_g = 0
        elif typ in _G_FROM_ARG:
            g = body[0]
        if typ == ev_userlog:
            body = list(body) + [0, 0]
            body[3] = inline_strings.setdefault(sargs or "", len(inline_strings))
        c_ts.append(last_ts); c_type.append(_LOCAL.get(typ, typ)); c_p.append(cur_p)
        c_g.append(min(g, 2**63 - 1))
        for i in range(4):
            c_a[i].append(body[i] if i < len(body) else 0)
        c_stk.append(stk if stk < 2**63 else 0); c_ord.append(seq); seq += 1
    if ticks == 0:
        raise TraceError(source, "no Frequency event in the trace (truncated?)", n)
    cols = {"ts": np.frombuffer(c_ts, np.int64).copy(), "type": np.frombuffer(c_type, np.uint8).copy(),
            "p": np.frombuffer(c_p, np.int64), "g": np.frombuffer(c_g, np.int64),
            "args": [np.frombuffer(a, np.uint64) for a in c_a], "stack": np.frombuffer(c_stk, np.int64)}
    return _finish_legacy(source, minor, strings, stacks, timer_goids, ticks, inline_strings, cols)


def _finish_legacy(source, minor, strings, stacks, timer_goids, ticks, inline_strings, cols: dict) -> Trace:
    """The Trace from event columns in file order (ts, type, p, g, args: 4 columns, stack). The columns
    are taken out of ``cols`` one by one and dropped once sorted, so that only one is copied at a time."""
    ts, typ = cols.pop("ts"), cols.pop("type")
    a = cols.pop("args")
    # GoSysExit's real timestamp is its third argument (Go's parser moves it there, then re-sorts)
    sx = np.flatnonzero((typ == EV["GoSysExit"]) & (a[2] != 0))
    ts[sx] = a[2][sx].astype(np.int64)
    del sx
    order = np.argsort(ts, kind="stable")
    ts, typ = ts[order], typ[order]
    args = np.empty((len(ts), 4), np.uint64)
    for k in range(4):                       # column by column, in blocks: one copy of the table, not two
        for i in range(0, len(ts), 1 << 20):
            args[i:i + (1 << 20), k] = a[k][order[i:i + (1 << 20)]]
        a[k] = None
    p = cols.pop("p")[order].astype(np.int64, copy=False)      # the fast path keeps P ids as int32
    g = cols.pop("g")[order]
    stk = cols.pop("stack")[order]
    del order
    if len(ts):                              # ticks -> ns since the first event, in place, in blocks
        t0, scale = ts[0], 1e9 / float(ticks)
        for i in range(0, len(ts), 1 << 20):
            blk = ts[i:i + (1 << 20)]
            blk -= t0
            blk[:] = (blk.astype(np.float64) * scale).astype(np.int64)
    # stacks -> frame table (frames deduplicated by pc, as Go's parser keeps one frame per pc)
    table = FrameTable()
    stack_index = {sid: table.add_stack(frames, strings) for sid, frames in stacks.items()}
    stk[~np.isin(stk, np.fromiter(stack_index.keys(), np.int64, len(stack_index)))] = 0
    return Trace(
        source=source, version=f"1.{minor}", generation="legacy", type_names=list(NAMES),
        ts=ts, type=typ, p=p, g=g, args=args, stack=stk, stack_index=stack_index,
        **table.columns(), table_spec=LEGACY_TABLES, strings=strings, ticks_per_sec=int(ticks),
        extra={"timer_goids": timer_goids, "inline_strings": list(inline_strings)},
    )


# ---- normalised tables ------------------------------------------------------------------------
_BLOCK_REASONS = {
    "GoStop": "forever", "GoSleep": "sleep", "GoBlock": "", "GoBlockSend": "chan send",
    "GoBlockRecv": "chan receive", "GoBlockSelect": "select", "GoBlockSync": "sync",
    "GoBlockCond": "sync.(*Cond).Wait", "GoBlockNet": "network",
    "GoBlockGC": "GC mark assist wait for work",
}


def _transition_luts():
    """Per event code: emits a transition, its new state, reason, g from arg 0, has a stack."""
    C = EV
    emits, from_a0, with_stack = (np.zeros(64, bool) for _ in range(3))
    state = np.zeros(64, np.int8)
    reason = np.zeros(64, np.int8)
    names = [""]

    def put(name, st, why="", a0=False, stk=True):
        c = C[name]
        emits[c], state[c], from_a0[c], with_stack[c] = True, st, a0, stk
        if why not in names:
            names.append(why)
        reason[c] = names.index(why)

    put("GoCreate", RUNNABLE, a0=True)
    put("GoStart", RUNNING, stk=False)
    put("GoStartLabel", RUNNING, stk=False)
    put("GoEnd", NOTEXIST, stk=False)
    put("GoSched", RUNNABLE, "runtime.Gosched")
    put("GoPreempt", RUNNABLE, "preempted")
    for name, why in _BLOCK_REASONS.items():
        put(name, WAITING, why)
    put("GoUnblock", RUNNABLE, a0=True)
    put("GoSysExit", RUNNABLE, stk=False)
    put("GoWaiting", WAITING, stk=False)
    put("GoInSyscall", SYSCALL, stk=False)
    put("GoSysCall", SYSCALL)
    return emits, state, reason, np.asarray(names, dtype=object), from_a0, with_stack


_TR_LUTS = _transition_luts()


def _legacy_transitions(t: Trace) -> pd.DataFrame:
    """Goroutine state transitions, as Go's converter maps pre-1.22 events onto the 1.22+ model.

    One row per transition in event order (ord = 4 * event row + sub): built from per-code tables,
    with two kinds of extra rows put in place: goroutines that existed when tracing started (before
    the first Gomaxprocs) and the 1 ns "running" after a syscall that did not block."""
    ty, ts, g, stk = t.type, t.ts, t.g, t.stack
    emits, state_of, reason_of, reasons, from_a0, with_stack = _TR_LUTS
    C = EV
    gmp = np.flatnonzero(ty == C["Gomaxprocs"])
    gi = int(gmp[0]) if len(gmp) else 0

    def a0(rows):
        return t.args[rows, 0].astype(np.int64)

    # before the first Gomaxprocs: GoStart takes its goroutine from arg 0, GoCreate/GoStartLabel emit nothing
    m = emits[ty]
    pre_ty = ty[:gi]
    m[:gi] &= (pre_ty != C["GoCreate"]) & (pre_ty != C["GoStartLabel"])
    rows = np.flatnonzero(m)
    del m
    # goroutines that existed when tracing started
    created_pre = set(a0(np.flatnonzero(pre_ty == C["GoCreate"])).tolist())
    created_pre -= set(a0(np.flatnonzero(ty == C["GoWaiting"])).tolist())
    created_pre -= set(a0(np.flatnonzero(ty == C["GoInSyscall"])).tolist())
    created_pre -= set(a0(np.flatnonzero(pre_ty == C["GoStart"])).tolist())
    cp = np.fromiter(sorted(created_pre), np.int64) if created_pre and len(gmp) else np.zeros(0, np.int64)
    # a syscall blocks if the goroutine's next event is GoSysBlock; else it lasts 1ns
    sc = np.flatnonzero(ty == C["GoSysCall"])
    quick = sc[~np.isin(sc, _blocked_syscalls(ty, g))] if len(sc) else sc
    # extra rows: inserted after their syscall's row, and before the first row at or after gi
    at = np.concatenate([np.searchsorted(rows, quick) + 1, np.full(len(cp), np.searchsorted(rows, gi))])
    n_x = len(at)
    if len(rows) + n_x == 0:
        return pd.DataFrame({"ts": [], "g": [], "state": [], "reason": [], "stack": [], "ord": []})
    if n_x:
        o = np.argsort(at, kind="stable")
        at = at[o] + np.arange(n_x)                  # their places in the full table
        is_x = np.zeros(len(rows) + n_x, bool)
        is_x[at] = True
        src = np.empty(len(rows) + n_x, np.int64)
        src[~is_x] = rows
        del is_x
        x_src = np.concatenate([quick, np.full(len(cp), gi)])[o]
        src[at] = x_src
        x_sub1 = at[o < len(quick)]
        x_cp = at[o >= len(quick)]
    else:
        src = rows
        x_sub1 = x_cp = np.zeros(0, np.int64)
    del rows
    tys = ty[src]
    out_g = g[src]
    k = np.flatnonzero(from_a0[tys])
    k = np.concatenate([k, np.flatnonzero((tys[:np.searchsorted(src, gi)] == C["GoStart"]))]) if gi else k
    out_g[k] = a0(src[k])
    out_g[x_cp] = cp
    state = state_of[tys]
    state[x_sub1] = RUNNING
    state[x_cp] = RUNNABLE
    reason = reasons[reason_of[tys]]
    stack = stk[src]
    stack[~with_stack[tys]] = 0
    stack[x_sub1] = 0
    del tys
    out_ts = ts[src]
    out_ts[x_sub1] += 1
    src *= 4
    src[x_sub1] += 1
    src[x_cp] = gi * 4 - 1
    return pd.DataFrame({"ts": out_ts, "g": out_g, "state": state, "reason": reason, "stack": stack, "ord": src},
                        copy=False)


def _blocked_syscalls(ty, g) -> np.ndarray:
    """Rows of GoSysCall events whose goroutine's next event is a GoSysBlock."""
    blk = np.flatnonzero(ty == EV["GoSysBlock"])
    if not len(blk):
        return blk
    rows = np.flatnonzero(np.isin(g, np.unique(g[blk])))     # events of those goroutines only
    rows = rows[np.argsort(g[rows], kind="stable")]          # grouped by goroutine, in event order
    j = np.flatnonzero(ty[rows[1:]] == EV["GoSysBlock"])
    prev, cur = rows[j], rows[j + 1]
    return prev[(g[prev] == g[cur]) & (ty[prev] == EV["GoSysCall"])]


def _legacy_p_events(t: Trace):
    """(p, ts, is_start, g) of the events that start/stop a goroutine running on a P."""
    start_codes = [EV[n] for n in ("GoStart", "GoStartLabel")]
    stop_codes = [EV[n] for n in ("GoEnd", "GoStop", "GoSched", "GoPreempt", "GoSleep", "GoBlock",
                                  "GoBlockSend", "GoBlockRecv", "GoBlockSelect", "GoBlockSync",
                                  "GoBlockCond", "GoBlockNet", "GoSysBlock", "GoBlockGC")]
    m = np.isin(t.type, start_codes + stop_codes) & (t.p >= 0) & (t.p < 1_000_000)
    k = np.nonzero(m)[0]
    return t.p[k], t.ts[k], np.isin(t.type[k], start_codes), t.g[k]


LEGACY_TABLES = TableSpec(transitions=_legacy_transitions, p_events=_legacy_p_events,
                          gc=("GCStart", "GCDone"), stw=("GCSTWStart", "GCSTWDone"), create="GoCreate",
                          heap_alloc="HeapAlloc", procs="Gomaxprocs")
