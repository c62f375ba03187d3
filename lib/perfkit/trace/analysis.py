"""Analyses of a parsed trace: blocking intervals, P utilization, goroutine counts, GC,
per-goroutine time, and a one-line summary.

Everything is computed with numpy from the normalised tables every trace parser
emits (``Trace.tables``: goroutine transitions, P run spans, GC/STW spans,
creations, heap samples, GOMAXPROCS), so nothing here depends on the trace format.
Tables are DataFrames; multi-part results are small frozen dataclasses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.trace import RUNNABLE, RUNNING, STATE_NAMES, SYSCALL, WAITING, Trace, same_as_previous


@dataclass(frozen=True)
class TraceSummary:
    """The headline figures of a trace (``perfkit trace summary``)."""
    source: str
    version: str
    events: int
    duration_s: float
    gomaxprocs: int
    goroutines_created: int
    gc_count: int
    gc_share: float           # share of the window with a GC cycle running
    busy_p_share: float       # mean busy Ps / GOMAXPROCS


@dataclass(frozen=True)
class GCSummary:
    """GC cycles and stop-the-world pauses of a trace."""
    gc_count: int
    gc_time_ns: int
    gc_share: float
    stw_count: int
    stw_total_ns: int
    stw_max_ns: int
    pauses_ns: tuple[int, ...]


@dataclass(frozen=True)
class IdleStretch:
    """The longest stretch in which no P ran a goroutine."""
    start_ms: float           # since the trace started
    duration_ms: float


def intervals(t: Trace, state: int, reason=None) -> pd.DataFrame:
    """Spans a goroutine spent in ``state`` (entered with a reason matching the
    predicate), as `go tool trace -pprof` measures them: g, start, end, duration, stack, reason.
    Spans still open at the end of the trace are left out."""
    tr = t.tables.transitions
    if len(tr) == 0:
        return pd.DataFrame(columns=["g", "start", "end", "duration", "stack", "reason"])
    # grouped by goroutine: the state gathered whole, g compared block by block, the other
    # columns read only on the spans' rows
    order = t.tables.goroutine_order
    gcol, st = tr["g"].to_numpy(), tr["state"].to_numpy()[order]
    n = len(st)
    change = np.ones(n, bool)
    change[1:] = ~same_as_previous(gcol, order)
    change[1:] |= st[1:] != st[:-1]
    starts = np.flatnonzero(change)
    del change
    if n < 2**31:
        starts = starts.astype(np.int32)
    sel = st[starts] == state
    del st
    reasons = tr["reason"]
    if reason is not None:
        # evaluate the predicate once per distinct reason, on blocks of the candidate rows
        cand = np.flatnonzero(sel)
        verdicts: dict = {}
        for i in range(0, len(cand), 1 << 21):
            c = cand[i:i + (1 << 21)]
            codes, uniq = pd.factorize(reasons.iloc[order[starts[c]]].to_numpy(), use_na_sentinel=False)
            for r in uniq:
                if r not in verdicts:
                    verdicts[r] = bool(reason(r))
            ok = np.fromiter((verdicts[r] for r in uniq), bool, len(uniq))
            sel[c[~ok[codes]]] = False
        del cand
    k = np.flatnonzero(sel)
    del sel
    s = starts[k]
    closed = k + 1 < len(starts)                 # the run that follows starts at e
    s, e = s[closed], starts[k[closed] + 1]
    del starts, k
    s, e = order[s], order[e]
    closed2 = gcol[e] == gcol[s]
    s, e = s[closed2], e[closed2]
    ts = tr["ts"].to_numpy()
    return pd.DataFrame({"g": gcol[s], "start": ts[s], "end": ts[e], "duration": ts[e] - ts[s],
                         "stack": tr["stack"].to_numpy()[s], "reason": reasons.iloc[s].to_numpy()})


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
    fr = t.tables.first_run
    start_w = fr.reindex(iv["g"].to_numpy()).to_numpy()
    start_w = np.where(np.isnan(start_w), -np.inf, start_w)
    s = np.maximum(iv["start"].to_numpy().astype(np.float64), start_w)
    dur = iv["end"].to_numpy().astype(np.float64) - s
    keep = dur > 0
    iv = iv[keep].copy()
    iv["duration"] = dur[keep].astype(np.int64)
    return iv.reset_index(drop=True)


def p_utilization(t: Trace, bucket_ns: int = 1_000_000) -> pd.DataFrame:
    """Busy-P count per bucket (average number of Ps running goroutines): bucket start (ms), busy_ps."""
    sp = t.tables.p_runs
    nb = max(1, int(np.ceil((t.duration_ns + 1) / bucket_ns)))
    if len(sp):
        s, e = sp["start"].to_numpy(np.float64), sp["end"].to_numpy(np.float64)
        # exact overlap of spans with buckets via the integral of a step function
        edges = np.arange(nb + 1) * float(bucket_ns)
        ss, ee = np.sort(s), np.sort(e)
        cs, ce = np.concatenate([[0], np.cumsum(ss)]), np.concatenate([[0], np.cumsum(ee)])
        # total busy time before x = sum(min(x, e)) - sum(min(x, s))
        i_s, i_e = np.searchsorted(ss, edges), np.searchsorted(ee, edges)
        busy_before = (ce[i_e] + edges * (len(ee) - i_e)) - (cs[i_s] + edges * (len(ss) - i_s))
        busy = np.diff(busy_before) / bucket_ns
    else:
        busy = np.zeros(nb)
    return pd.DataFrame({"ms": np.arange(nb) * bucket_ns / 1e6, "busy_ps": busy})


def gomaxprocs(t: Trace) -> int:
    """GOMAXPROCS at the end of the trace (0 if the trace never says)."""
    v = t.tables.procs["gomaxprocs"].to_numpy()
    return int(v[-1]) if len(v) else 0


def goroutine_states(t: Trace, bucket_ns: int = 10_000_000) -> pd.DataFrame:
    """Goroutine counts by state at the end of each bucket: ms, runnable, running, waiting, syscall."""
    tr = t.tables.transitions
    st = tr["state"].to_numpy().astype(np.int64)
    prev = tr["from_state"].to_numpy().astype(np.int64)
    ts = tr["ts"].to_numpy()
    nb = max(1, int(np.ceil((t.duration_ns + 1) / bucket_ns)))
    b = np.minimum(ts // bucket_ns, nb - 1).astype(np.int64)
    out = {}
    for s in range(1, 5):
        delta = np.bincount(b, weights=(st == s).astype(float) - (prev == s).astype(float), minlength=nb)
        out[STATE_NAMES[s]] = np.cumsum(delta).astype(np.int64)
    return pd.DataFrame({"ms": np.arange(nb) * bucket_ns / 1e6, **out})


def goroutine_creation(t: Trace, by: str = "function", bucket_ns: int = 1_000_000_000) -> pd.DataFrame:
    """Goroutines created per second (bucket), by the creating stack's leaf-most user function
    (``by='function'``) or the full stack id (``by='stack'``): creator, second, created."""
    cr = t.tables.creations
    stk = cr["stack"].to_numpy()
    sec = cr["ts"].to_numpy() // bucket_ns
    if by == "stack":
        key = stk.astype(object)
    else:
        key = _creators(t, stk)
    df = pd.DataFrame({"second": sec, "creator": key})
    return df.groupby(["creator", "second"]).size().rename("created").reset_index() \
             .sort_values(["created"], ascending=False, kind="stable").reset_index(drop=True)


def _creators(t: Trace, stacks: np.ndarray) -> np.ndarray:
    """_creator of each stack id, computed once per distinct stack."""
    uniq, inv = np.unique(np.asarray(stacks, np.int64), return_inverse=True)
    names = np.array([_creator(t, int(s)) for s in uniq] + [""], dtype=object)[:len(uniq)]
    return names[inv.reshape(-1)]


def _creator(t: Trace, sid: int) -> str:
    fr = t.frames(sid)
    for fn, _, _ in fr:
        if not fn.startswith("runtime."):
            return fn
    return fr[0][0] if fr else "?"


def gc_summary(t: Trace) -> GCSummary:
    """GC count, pause (STW) durations and the share of the window spent in GC."""
    gc, stw = t.tables.gc_spans, t.tables.stw_spans
    gc_ns = int((gc["end"] - gc["start"]).sum())
    pauses = (stw["end"] - stw["start"]).to_numpy()
    return GCSummary(gc_count=len(gc), gc_time_ns=gc_ns, gc_share=float(gc_ns / max(t.duration_ns, 1)),
                     stw_count=len(stw), stw_total_ns=int(pauses.sum()),
                     stw_max_ns=int(pauses.max()) if len(pauses) else 0,
                     pauses_ns=tuple(int(x) for x in pauses))


def goroutine_time(t: Trace) -> pd.DataFrame:
    """Per goroutine, like `go tool trace`'s goroutine analysis: execution, scheduler wait,
    blocked (by reason class) and syscall time in ns, and the creating function:
    g, exec_ns, sched_wait_ns, syscall_ns, block_net_ns, block_sync_ns, blocked_ns, created_by."""
    rows = {}
    for col, (state, pred) in {"exec_ns": (RUNNING, None), "sched_wait_ns": (RUNNABLE, None),
                               "syscall_ns": (SYSCALL, None),
                               "block_net_ns": BLOCKING_KINDS["net"],
                               "block_sync_ns": BLOCKING_KINDS["sync"],
                               "blocked_ns": (WAITING, None)}.items():
        iv = intervals(t, state, pred)
        rows[col] = iv.groupby("g")["duration"].sum()
    df = pd.DataFrame(rows).fillna(0).astype(np.int64)
    cr = t.tables.creations
    creator = pd.Series(_creators(t, cr["stack"].to_numpy()), index=cr["g"].to_numpy())
    creator = creator[~creator.index.duplicated()]
    df["created_by"] = creator.reindex(df.index).fillna("")
    df.index.name = "g"
    return df.sort_values("exec_ns", ascending=False).reset_index()


def trace_summary(t: Trace) -> TraceSummary:
    """Format version, duration, GOMAXPROCS, goroutines created, GC and busy-P share."""
    util = p_utilization(t)
    gmp = gomaxprocs(t)
    gc = gc_summary(t)
    return TraceSummary(source=t.source, version=t.version, events=t.n_events,
                        duration_s=t.duration_ns / 1e9, gomaxprocs=gmp,
                        goroutines_created=len(t.tables.creations),
                        gc_count=gc.gc_count, gc_share=gc.gc_share,
                        busy_p_share=float(util["busy_ps"].mean() / gmp) if gmp else 0.0)


def longest_idle(t: Trace) -> IdleStretch:
    """The longest stretch in which no P ran any goroutine."""
    sp = t.tables.p_runs
    if sp.empty:
        return IdleStretch(start_ms=0.0, duration_ms=t.duration_ns / 1e6)
    s = sp["start"].to_numpy(np.int64)
    e = sp["end"].to_numpy(np.int64)
    order = np.argsort(s, kind="stable")
    s, e = s[order], np.maximum.accumulate(e[order])
    gaps = s[1:] - e[:-1]
    if not len(gaps) or gaps.max() <= 0:
        return IdleStretch(start_ms=0.0, duration_ms=0.0)
    i = int(np.argmax(gaps))
    t0 = int(t.ts.min()) if t.n_events else 0
    return IdleStretch(start_ms=float(e[i] - t0) / 1e6, duration_ms=float(gaps[i]) / 1e6)
