"""Analyses of a parsed trace: goroutine state transitions, blocking intervals,
P utilization, goroutine counts, GC, per-goroutine summaries.

Everything is computed from the column arrays with numpy; the results are
DataFrames. Goroutine states follow Go's internal/trace (1.22+ model); pre-1.22
traces are mapped onto it the way `go tool trace` converts them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.trace import Trace

NOTEXIST, RUNNABLE, RUNNING, WAITING, SYSCALL = 0, 1, 2, 3, 4
STATE_NAMES = ["notexist", "runnable", "running", "waiting", "syscall"]

_LEGACY_BLOCK_REASONS = {
    "GoStop": "forever", "GoSleep": "sleep", "GoBlock": "", "GoBlockSend": "chan send",
    "GoBlockRecv": "chan receive", "GoBlockSelect": "select", "GoBlockSync": "sync",
    "GoBlockCond": "sync.(*Cond).Wait", "GoBlockNet": "network",
    "GoBlockGC": "GC mark assist wait for work",
}


def transitions(t: Trace) -> pd.DataFrame:
    """Goroutine state transitions: ts, g, state (new), reason, stack, ord (event order)."""
    cache = t.extra.get("_transitions")
    if cache is not None:
        return cache
    if t.generation == "legacy":
        df = _legacy_transitions(t)
    else:
        from ..formats.trace_go122 import v2_transitions
        df = v2_transitions(t)
    t.extra["_transitions"] = df
    return df


def _legacy_transitions(t: Trace) -> pd.DataFrame:
    ty, ts, g, a0, stk = t.type, t.ts, t.g, t.args[:, 0].astype(np.int64), t.stack
    n = len(ty)
    idx = np.arange(n)
    C = {name: t.code(name) for name in t.type_names}
    gmp = np.nonzero(ty == C["Gomaxprocs"])[0]
    gi = int(gmp[0]) if len(gmp) else 0
    parts = []

    def add(mask, gcol, state, reason, stack, dts=0, sub=0):
        k = np.nonzero(mask)[0]
        if len(k) == 0:
            return
        parts.append(pd.DataFrame({
            "ts": ts[k] + dts, "g": gcol[k], "state": np.int8(state),
            "reason": reason if isinstance(reason, str) else reason[k],
            "stack": stack[k] if stack is not None else 0, "ord": k * 4 + sub}))

    pre = idx < gi
    post = ~pre
    # goroutines that existed when tracing started
    created_pre = set(a0[pre & (ty == C["GoCreate"])].tolist())
    created_pre -= set(a0[ty == C["GoWaiting"]].tolist()) | set(a0[ty == C["GoInSyscall"]].tolist())
    created_pre -= set(a0[pre & (ty == C["GoStart"])].tolist())
    if created_pre and len(gmp):
        gs = np.fromiter(sorted(created_pre), np.int64)
        parts.append(pd.DataFrame({"ts": ts[gi], "g": gs, "state": np.int8(RUNNABLE), "reason": "",
                                   "stack": 0, "ord": gi * 4 - 1}))
    add(pre & (ty == C["GoStart"]), a0, RUNNING, "", None)
    add(post & (ty == C["GoCreate"]), a0, RUNNABLE, "", stk)
    add(post & np.isin(ty, [C["GoStart"], C["GoStartLabel"]]), g, RUNNING, "", None)
    add(ty == C["GoEnd"], g, NOTEXIST, "", None)
    add(np.isin(ty, [C["GoSched"], C["GoPreempt"]]), g, RUNNABLE,
        np.where(ty == C["GoSched"], "runtime.Gosched", "preempted"), stk)
    for name, reason in _LEGACY_BLOCK_REASONS.items():
        add(ty == C[name], g, WAITING, reason, stk)
    add(ty == C["GoUnblock"], a0, RUNNABLE, "", stk)
    add(ty == C["GoSysExit"], g, RUNNABLE, "", None)
    add(ty == C["GoWaiting"], g, WAITING, "", None)
    add(ty == C["GoInSyscall"], g, SYSCALL, "", None)
    # a syscall blocks if the goroutine's next event is GoSysBlock; else it lasts 1ns
    sc = np.nonzero(ty == C["GoSysCall"])[0]
    if len(sc):
        order = np.lexsort((idx, g))
        pos = np.empty(n, np.int64)
        pos[order] = np.arange(n)
        nxt = pos[sc] + 1
        ok = nxt < n
        nxt_ev = np.full(len(sc), -1)
        nxt_ev[ok] = order[nxt[ok]]
        blocked = np.zeros(len(sc), bool)
        blocked[ok] = (g[nxt_ev[ok]] == g[sc[ok]]) & (ty[nxt_ev[ok]] == C["GoSysBlock"])
        m = np.zeros(n, bool)
        m[sc] = True
        add(m, g, SYSCALL, "", stk)
        m2 = np.zeros(n, bool)
        m2[sc[~blocked]] = True
        add(m2, g, RUNNING, "", None, dts=1, sub=1)
    if not parts:
        return pd.DataFrame({"ts": [], "g": [], "state": [], "reason": [], "stack": [], "ord": []})
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values("ord", kind="stable").reset_index(drop=True)
    return df


def intervals(t: Trace, state: int, reason=None) -> pd.DataFrame:
    """Spans a goroutine spent in ``state`` (entered with a reason matching the
    predicate), as `go tool trace -pprof` measures them: g, start, end, duration, stack, reason.
    Spans still open at the end of the trace are left out."""
    tr = transitions(t)
    if len(tr) == 0:
        return pd.DataFrame(columns=["g", "start", "end", "duration", "stack", "reason"])
    order = np.lexsort((tr["ord"].to_numpy(), tr["g"].to_numpy()))
    g = tr["g"].to_numpy()[order]
    st = tr["state"].to_numpy()[order]
    ts = tr["ts"].to_numpy()[order]
    stk = tr["stack"].to_numpy()[order]
    rs = tr["reason"].to_numpy()[order]
    n = len(g)
    change = np.ones(n, bool)
    change[1:] = (g[1:] != g[:-1]) | (st[1:] != st[:-1])
    starts = np.nonzero(change)[0]
    nxt = np.append(starts[1:], n)          # first row of the following run
    sel = st[starts] == state
    if reason is not None:
        # evaluate the predicate once per distinct reason
        cand = np.flatnonzero(sel)
        codes, uniq = pd.factorize(rs[starts[cand]], use_na_sentinel=False)
        ok = np.fromiter((bool(reason(r)) for r in uniq), bool, len(uniq))
        sel[cand[~ok[codes]]] = False
    s = starts[sel]
    e = nxt[sel]
    closed = e < n
    s, e = s[closed], e[closed]
    closed2 = g[e] == g[s]
    s, e = s[closed2], e[closed2]
    return pd.DataFrame({"g": g[s], "start": ts[s], "end": ts[e], "duration": ts[e] - ts[s],
                         "stack": stk[s], "reason": rs[s]})


BLOCKING_KINDS = {
    # kind: (state, reason predicate) -- the same selection as `go tool trace -pprof=`
    "net": (WAITING, lambda r: r == "network"),
    "sync": (WAITING, lambda r: "chan" in r or "sync" in r or "select" in r),
    "syscall": (SYSCALL, None),
    "sched": (RUNNABLE, None),
}


def blocking_intervals(t: Trace, kind: str) -> pd.DataFrame:
    """Spans counted by `go tool trace -pprof=KIND`. As Go does, each span is clipped to its
    goroutine's lifetime window [first time it ran, end]: spans that end before (or when)
    the goroutine first runs in the trace -- runnable from creation, or blocked/in a syscall
    since the trace started -- count for nothing, and zero-length spans are dropped.
    Goroutines that never ran keep all their spans."""
    state, pred = BLOCKING_KINDS[kind]
    iv = intervals(t, state, pred)
    if len(iv) == 0:
        return iv
    fr = first_run(t)
    start_w = fr.reindex(iv["g"].to_numpy()).to_numpy()
    start_w = np.where(np.isnan(start_w), -np.inf, start_w)
    s = np.maximum(iv["start"].to_numpy().astype(np.float64), start_w)
    dur = iv["end"].to_numpy().astype(np.float64) - s
    keep = dur > 0
    iv = iv[keep].copy()
    iv["duration"] = dur[keep].astype(np.int64)
    return iv.reset_index(drop=True)


def first_run(t: Trace) -> pd.Series:
    """Per goroutine, the time it first ran in the trace (Go's GoroutineSummary.StartTime)."""
    cache = t.extra.get("_first_run")
    if cache is None:
        tr = transitions(t)
        r = tr[tr["state"].to_numpy() == RUNNING]
        cache = r.groupby("g")["ts"].min()
        t.extra["_first_run"] = cache
    return cache


# ---------------------------------------------------------------------------
def running_spans(t: Trace) -> pd.DataFrame:
    """Spans goroutines ran: g, start, end (running -> any other state)."""
    return intervals(t, RUNNING)


def p_spans(t: Trace) -> pd.DataFrame:
    """P busy spans (running a goroutine): p, g, start, end. Used for the P-lane timeline."""
    if t.generation == "legacy":
        start_codes = t.codes("GoStart", "GoStartLabel")
        stop_codes = t.codes("GoEnd", "GoStop", "GoSched", "GoPreempt", "GoSleep", "GoBlock",
                             "GoBlockSend", "GoBlockRecv", "GoBlockSelect", "GoBlockSync", "GoBlockCond",
                             "GoBlockNet", "GoSysBlock", "GoBlockGC")
        m = np.isin(t.type, start_codes + stop_codes) & (t.p >= 0) & (t.p < 1_000_000)
        k = np.nonzero(m)[0]
        p, ts, is_start, g = t.p[k], t.ts[k], np.isin(t.type[k], start_codes), t.g[k]
    else:
        from ..formats.trace_go122 import v2_p_events
        p, ts, is_start, g = v2_p_events(t)
    order = np.lexsort((np.arange(len(p)), p))
    p, ts, is_start, g = p[order], ts[order], is_start[order], g[order]
    ok = is_start[:-1] & ~is_start[1:] & (p[:-1] == p[1:])
    i = np.nonzero(ok)[0]
    return pd.DataFrame({"p": p[i], "g": g[i], "start": ts[i], "end": ts[i + 1]})


def p_utilization(t: Trace, bucket_ns: int = 1_000_000) -> pd.DataFrame:
    """Busy-P count per bucket (average number of Ps running goroutines): bucket start (ms), busy_ps."""
    sp = p_spans(t)
    nb = max(1, int(np.ceil((t.duration_ns + 1) / bucket_ns)))
    busy = np.zeros(nb + 1)
    if len(sp):
        s, e = sp["start"].to_numpy(np.float64), sp["end"].to_numpy(np.float64)
        # exact overlap of spans with buckets via the integral of a step function
        edges = np.arange(nb + 1) * float(bucket_ns)
        ss, ee = np.sort(s), np.sort(e)
        def integral(x):
            # total busy time before x = sum(min(x,e)-min(x,s))
            cs, ce = np.concatenate([[0], np.cumsum(ss)]), np.concatenate([[0], np.cumsum(ee)])
            i_s = np.searchsorted(ss, x); i_e = np.searchsorted(ee, x)
            return (cs[i_s] + x * (len(ss) - i_s)) - (ce[i_e] + x * (len(ee) - i_e))
        val = -integral(edges)
        busy = np.diff(val) / bucket_ns
    else:
        busy = np.zeros(nb)
    return pd.DataFrame({"ms": np.arange(nb) * bucket_ns / 1e6, "busy_ps": busy})


def gomaxprocs(t: Trace) -> int:
    if t.generation == "legacy":
        k = np.nonzero(t.type == t.code("Gomaxprocs"))[0]
        return int(t.args[k[-1], 0]) if len(k) else 0
    k = np.nonzero(t.type == t.code("ProcsChange"))[0]
    return int(t.args[k[-1], 0]) if len(k) else 0


def goroutine_states(t: Trace, bucket_ns: int = 10_000_000) -> pd.DataFrame:
    """Goroutine counts by state at the end of each bucket."""
    tr = transitions(t)
    order = np.lexsort((tr["ord"].to_numpy(), tr["g"].to_numpy()))
    g = tr["g"].to_numpy()[order]; st = tr["state"].to_numpy()[order].astype(np.int64)
    ts = tr["ts"].to_numpy()[order]
    prev = np.full(len(g), -1)
    same = np.zeros(len(g), bool); same[1:] = g[1:] == g[:-1]
    prev[1:][same[1:]] = st[:-1][same[1:]]
    nb = max(1, int(np.ceil((t.duration_ns + 1) / bucket_ns)))
    b = np.minimum(ts // bucket_ns, nb - 1)
    out = {}
    for s in range(1, 5):
        delta = np.bincount(b, weights=(st == s).astype(float) - (prev == s).astype(float), minlength=nb)
        out[STATE_NAMES[s]] = np.cumsum(delta).astype(np.int64)
    return pd.DataFrame({"ms": np.arange(nb) * bucket_ns / 1e6, **out})


def goroutine_creation(t: Trace, by: str = "function", bucket_ns: int = 1_000_000_000) -> pd.DataFrame:
    """Goroutines created per second (bucket), by the creating stack's leaf-most user function
    (``by='function'``) or the full stack id (``by='stack'``)."""
    k = np.nonzero(t.type == t.code("GoCreate"))[0]
    stk = t.stack[k]
    sec = t.ts[k] // bucket_ns
    if by == "stack":
        key = stk.astype(object)
    else:
        key = np.asarray([_creator(t, s) for s in stk], dtype=object)
    df = pd.DataFrame({"second": sec, "creator": key})
    return df.groupby(["creator", "second"]).size().rename("created").reset_index() \
             .sort_values(["created"], ascending=False, kind="stable").reset_index(drop=True)


def _creator(t: Trace, sid: int) -> str:
    fr = t.frames(sid)
    for fn, _, _ in fr:
        if not fn.startswith("runtime."):
            return fn
    return fr[0][0] if fr else "?"


def gc_summary(t: Trace) -> dict:
    """GC count, pause (STW) durations and the share of the window spent in GC."""
    if t.generation == "legacy":
        gs, ge = t.code("GCStart"), t.code("GCDone")
        ss, se = t.code("GCSTWStart"), t.code("GCSTWDone")
    else:
        gs, ge = t.code("GCBegin"), t.code("GCEnd")
        ss, se = t.code("STWBegin"), t.code("STWEnd")
    def spans(a, b):
        s = t.ts[t.type == a]; e = t.ts[t.type == b]
        if len(e) and len(s) and e[0] < s[0]:
            e = e[1:]
        m = min(len(s), len(e))
        return s[:m], e[:m]
    s, e = spans(gs, ge)
    ps, pe = spans(ss, se)
    dur = max(t.duration_ns, 1)
    pauses = (pe - ps)
    return {"gc_count": int(len(s)), "gc_time_ns": int((e - s).sum()),
            "gc_share": float((e - s).sum() / dur), "stw_count": int(len(ps)),
            "stw_total_ns": int(pauses.sum()), "stw_max_ns": int(pauses.max()) if len(pauses) else 0,
            "pauses_ns": pauses.tolist()}


def heap(t: Trace) -> pd.DataFrame:
    k = np.nonzero(t.type == t.code("HeapAlloc"))[0]
    return pd.DataFrame({"ts": t.ts[k], "heap_live": t.args[k, 0].astype(np.int64)})


def goroutine_summary(t: Trace) -> pd.DataFrame:
    """Per goroutine, like `go tool trace`'s goroutine analysis: execution, scheduler wait,
    blocked (by reason class) and syscall time in ns."""
    rows = {}
    for col, (state, pred) in {"exec_ns": (RUNNING, None), "sched_wait_ns": (RUNNABLE, None),
                               "syscall_ns": (SYSCALL, None),
                               "block_net_ns": BLOCKING_KINDS["net"],
                               "block_sync_ns": BLOCKING_KINDS["sync"],
                               "blocked_ns": (WAITING, None)}.items():
        iv = intervals(t, state, pred)
        rows[col] = iv.groupby("g")["duration"].sum()
    df = pd.DataFrame(rows).fillna(0).astype(np.int64)
    k = np.nonzero(t.type == t.code("GoCreate"))[0]
    creator = pd.Series([_creator(t, s) for s in t.stack[k]], index=t.args[k, 0].astype(np.int64))
    creator = creator[~creator.index.duplicated()]
    df["created_by"] = creator.reindex(df.index).fillna("")
    df.index.name = "g"
    return df.sort_values("exec_ns", ascending=False).reset_index()


def summary(t: Trace) -> dict:
    util = p_utilization(t)
    gmp = gomaxprocs(t)
    gc = gc_summary(t)
    return {"source": t.source, "version": t.version, "events": t.n_events,
            "duration_s": t.duration_ns / 1e9, "gomaxprocs": gmp,
            "goroutines_created": int((t.type == t.code("GoCreate")).sum()),
            "gc_count": gc["gc_count"], "gc_share": gc["gc_share"],
            "busy_p_share": float(util["busy_ps"].mean() / gmp) if gmp else 0.0}


def longest_idle(t: Trace) -> dict:
    """The longest stretch in which no P ran any goroutine: start and length in ms."""
    sp = p_spans(t)
    if sp.empty:
        return {"start_ms": 0.0, "ms": t.duration_ns / 1e6}
    s = sp["start"].to_numpy(np.int64)
    e = sp["end"].to_numpy(np.int64)
    order = np.argsort(s, kind="stable")
    s, e = s[order], np.maximum.accumulate(e[order])
    gaps = s[1:] - e[:-1]
    if not len(gaps) or gaps.max() <= 0:
        return {"start_ms": 0.0, "ms": 0.0}
    i = int(np.argmax(gaps))
    t0 = int(t.ts.min()) if t.n_events else 0
    return {"start_ms": (e[i] - t0) / 1e6, "ms": float(gaps[i]) / 1e6}
