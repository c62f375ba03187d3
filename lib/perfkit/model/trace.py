"""The parsed-trace model: events as numpy column arrays, stacks as flat tables.

A Trace holds one row per event (no Python object per event):

* ``ts``     int64 nanoseconds since the first event
* ``type``   uint8 event type code (see ``type_names``)
* ``p``      int64 P id (-1: none)
* ``g``      int64 goroutine id (0: none)
* ``args``   uint64 (n x 4) event arguments as the format defines them
* ``stack``  int64 stack id (0: none)

Stacks: ``stack_ids`` -> offsets into ``stack_frames`` (frame indices, leaf first);
frames: ``frame_pc``, ``frame_fn``, ``frame_file``, ``frame_line``.

Every parser also says, in a :class:`TableSpec`, how its events map onto the
normalised tables of :class:`TraceTables` (``Trace.tables``): goroutine state
transitions, P run spans, GC and STW spans, goroutine creations, heap samples
and GOMAXPROCS changes. The tables have the same columns whatever the format,
so the analyses never look at the format. Each table is built on first use.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd

# goroutine states (Go's internal/trace GoState); UNDETERMINED: not seen before in the trace
UNDETERMINED, NOTEXIST, RUNNABLE, RUNNING, WAITING, SYSCALL = -1, 0, 1, 2, 3, 4
STATE_NAMES = ["notexist", "runnable", "running", "waiting", "syscall"]


@dataclass(frozen=True)
class TableSpec:
    """How one trace format maps its events onto the normalised tables (given by its parser).

    ``transitions(t)``: one row per goroutine state change in event order, columns
    ts, g, state (the new state), reason, stack, ord (a sort key giving event order).
    ``p_events(t)``: arrays (p, ts, is_start, g) of the events that start or stop a
    goroutine running on a P. The other fields name event types: (begin, end) pairs for
    GC cycles and stop-the-world pauses; the goroutine-creation event (arg 0: new
    goroutine); the heap-size event (arg 0: live bytes); the GOMAXPROCS event (arg 0).
    """
    transitions: Callable[["Trace"], pd.DataFrame]
    p_events: Callable[["Trace"], tuple]
    gc: tuple[str, str]
    stw: tuple[str, str]
    create: str
    heap_alloc: str
    procs: str


@dataclass(eq=False)
class Trace:
    source: str
    version: str                 # "1.11" ... "1.26"
    generation: str              # "legacy" | "v2" (describes the file; analyses read only `tables`)
    type_names: list[str]        # code -> name, as Go's parser for that format names it
    ts: np.ndarray
    type: np.ndarray
    p: np.ndarray
    g: np.ndarray
    args: np.ndarray
    stack: np.ndarray
    stack_index: dict            # stack id -> (start, end) into stack_frames
    stack_frames: np.ndarray     # frame indices, leaf first
    frame_pc: np.ndarray
    frame_fn: np.ndarray         # object arrays of str
    frame_file: np.ndarray
    frame_line: np.ndarray
    table_spec: TableSpec
    strings: dict = field(default_factory=dict)
    ticks_per_sec: int = 0
    extra: dict = field(default_factory=dict)   # format-specific side tables

    def __repr__(self) -> str:
        return (f"<Trace {self.source}: go {self.version} trace, {self.n_events:,} events, "
                f"{self.duration_ns / 1e9:.3f}s>")

    @property
    def n_events(self) -> int:
        return int(len(self.ts))

    @property
    def duration_ns(self) -> int:
        return int(self.ts[-1] - self.ts[0]) if len(self.ts) else 0

    def code(self, name: str) -> int:
        return self.type_names.index(name)

    def codes(self, *names: str) -> list[int]:
        return [self.type_names.index(n) for n in names if n in self.type_names]

    def is_type(self, *names: str) -> np.ndarray:
        return np.isin(self.type, self.codes(*names))

    @cached_property
    def tables(self) -> "TraceTables":
        """The normalised tables (the same columns for every trace format)."""
        return TraceTables(self)

    # ---- DataFrame views ----------------------------------------------------
    @property
    def events(self) -> pd.DataFrame:
        names = np.asarray(self.type_names, dtype=object)
        return pd.DataFrame({
            "ts": self.ts, "type": pd.Categorical.from_codes(self.type.astype(np.int64),
                                                             categories=_unique_cats(names)),
            "p": self.p, "g": self.g,
            "arg0": self.args[:, 0], "arg1": self.args[:, 1], "arg2": self.args[:, 2],
            "arg3": self.args[:, 3], "stack": self.stack,
        })

    def event_counts(self) -> pd.DataFrame:
        """One row per event type present: type, count (sorted by type name)."""
        c = np.bincount(self.type.astype(np.int64), minlength=len(self.type_names))
        rows = [(self.type_names[i], int(c[i])) for i in np.nonzero(c)[0]]
        rows.extend(self.extra.get("extra_counts", {}).items())
        df = pd.DataFrame(rows, columns=["type", "count"])
        df = df.groupby("type", as_index=False)["count"].sum()
        return df.sort_values("type").reset_index(drop=True)

    def stack_frames_of(self, stack_id: int) -> np.ndarray:
        a, b = self.stack_index.get(int(stack_id), (0, 0))
        return self.stack_frames[a:b]

    def stack_table(self) -> pd.DataFrame:
        """Every stack in long form: stack, depth (0 = leaf), function, file, line."""
        ids, depth, fr = [], [], []
        for sid, (a, b) in self.stack_index.items():
            ids.extend([sid] * (b - a))
            depth.extend(range(b - a))
            fr.extend(self.stack_frames[a:b].tolist())
        fr = np.asarray(fr, dtype=np.int64)
        return pd.DataFrame({"stack": np.asarray(ids, np.int64), "depth": np.asarray(depth, np.int64),
                             "pc": self.frame_pc[fr], "function": self.frame_fn[fr],
                             "file": self.frame_file[fr], "line": self.frame_line[fr]})

    def frames(self, stack_id: int) -> list[tuple[str, str, int]]:
        """(function, file, line) of a stack, leaf first."""
        return [(self.frame_fn[f], self.frame_file[f], int(self.frame_line[f]))
                for f in self.stack_frames_of(stack_id)]


def _unique_cats(names: np.ndarray) -> list[str]:
    out, seen = [], {}
    for i, n in enumerate(names):
        n = n or f"?{i}"
        if n in seen:
            n = f"{n}#{i}"
        seen[n] = i
        out.append(n)
    return out


class FrameTable:
    """Stack frames deduplicated by pc (Go's parsers keep one frame per pc), and stacks as spans of it."""

    def __init__(self):
        self.pc_index: dict[int, int] = {}
        self.pc: list[int] = []
        self.fn: list[str] = []
        self.file: list[str] = []
        self.line: list[int] = []
        self.flat: list[int] = []

    def add_stack(self, frames, strings) -> tuple[int, int]:
        """Append one stack ((pc, function id, file id, line) per frame); its span in ``stack_frames``."""
        a = len(self.flat)
        for pc, fn, fl, line in frames:
            i = self.pc_index.get(pc)
            if i is None:
                i = self.pc_index[pc] = len(self.pc)
                self.pc.append(pc)
                self.fn.append(strings.get(fn, ""))
                self.file.append(strings.get(fl, ""))
                self.line.append(line)
            self.flat.append(i)
        return a, len(self.flat)

    def columns(self) -> dict:
        """The Trace fields for frames and stacks."""
        return {"stack_frames": np.asarray(self.flat, np.int64), "frame_pc": np.asarray(self.pc, np.uint64),
                "frame_fn": np.asarray(self.fn, dtype=object), "frame_file": np.asarray(self.file, dtype=object),
                "frame_line": np.asarray(self.line, np.int64)}


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """np.argsort(keys, kind="stable"), as two 16-bit radix passes when keys fit 0..2**32-1 (then as
    int32 when the rows fit: the order of a big table is kept, and the passes read strided views)."""
    if not len(keys) or keys.min() < 0 or keys.max() >= 2**32:
        return np.argsort(keys, kind="stable")
    small = len(keys) < 2**31
    if keys.dtype == np.int64 and keys.flags.c_contiguous and sys.byteorder == "little":
        lo, hi = keys.view(np.uint16)[0::4], keys.view(np.uint16)[1::4]
    else:
        lo, hi = (keys & 0xFFFF).astype(np.uint16), (keys >> 16).astype(np.uint16)
    o = np.argsort(lo, kind="stable")
    if small:
        o = o.astype(np.int32)
    return o[np.argsort(hi[o], kind="stable")]


def same_as_previous(g: np.ndarray, order: np.ndarray, block: int = 1 << 22) -> np.ndarray:
    """same[i] = g[order[i + 1]] == g[order[i]], block by block (no full copy of g in that order)."""
    same = np.empty(max(len(order) - 1, 0), bool)
    for i in range(0, len(same), block):
        x = g[order[i:i + block + 1]]
        same[i:i + len(x) - 1] = x[1:] == x[:-1]
    return same


class TraceTables:
    """Normalised tables of one trace, each built on first use from the parser's TableSpec."""

    def __init__(self, t: Trace):
        self._trace = t
        self._spec = t.table_spec

    @cached_property
    def transitions(self) -> pd.DataFrame:
        """Goroutine state transitions in event order: ts, g, from_state, state (new state),
        reason, stack, ord. ``from_state`` is the goroutine's previous state in the trace,
        UNDETERMINED (-1) at its first transition."""
        df = self._spec.transitions(self._trace)
        g, st = df["g"].to_numpy(), df["state"].to_numpy()
        order = self._g_order = _stable_order(g)     # rows are in event order already
        prev = np.full(len(g), UNDETERMINED, np.int8)
        if len(g):
            ss = st[order]
            same = same_as_previous(g, order)
            prev_sorted = np.full(len(g), UNDETERMINED, np.int8)
            prev_sorted[1:][same] = ss[:-1][same]
            prev[order] = prev_sorted
        df.insert(2, "from_state", prev)
        return df

    @property
    def goroutine_order(self) -> np.ndarray:
        """Row order of ``transitions`` grouped by goroutine (ascending g), each in event order."""
        self.transitions
        return self._g_order

    @cached_property
    def transitions_by_goroutine(self) -> pd.DataFrame:
        """The transitions grouped by goroutine (ascending g), each goroutine's in event order."""
        return self.transitions.take(self.goroutine_order).reset_index(drop=True)

    @cached_property
    def first_run(self) -> pd.Series:
        """Per goroutine, the time it first ran in the trace (Go's GoroutineSummary.StartTime)."""
        tr = self.transitions
        run = tr["state"].to_numpy() == RUNNING           # two columns filtered, not the whole table
        return tr["ts"][run].groupby(tr["g"][run]).min()

    @cached_property
    def p_runs(self) -> pd.DataFrame:
        """Spans in which a P ran one goroutine: p, g, start, end (ns)."""
        p, ts, is_start, g = self._spec.p_events(self._trace)
        order = np.lexsort((np.arange(len(p)), p))
        p, ts, is_start, g = p[order], ts[order], is_start[order], g[order]
        ok = is_start[:-1] & ~is_start[1:] & (p[:-1] == p[1:])
        i = np.nonzero(ok)[0]
        return pd.DataFrame({"p": p[i], "g": g[i], "start": ts[i], "end": ts[i + 1]})

    @cached_property
    def gc_spans(self) -> pd.DataFrame:
        """GC cycles: start, end (ns)."""
        return self._paired(*self._spec.gc)

    @cached_property
    def stw_spans(self) -> pd.DataFrame:
        """Stop-the-world pauses: start, end (ns)."""
        return self._paired(*self._spec.stw)

    @cached_property
    def creations(self) -> pd.DataFrame:
        """Goroutines created in the trace: ts, g (the new goroutine), creator_g, stack (creation stack)."""
        t = self._trace
        k = np.nonzero(t.type == t.code(self._spec.create))[0]
        return pd.DataFrame({"ts": t.ts[k], "g": t.args[k, 0].astype(np.int64), "creator_g": t.g[k],
                             "stack": t.stack[k]})

    @cached_property
    def heap_samples(self) -> pd.DataFrame:
        """Live heap reported by the runtime: ts, heap_live (bytes)."""
        ts, v = self._arg0(self._spec.heap_alloc)
        return pd.DataFrame({"ts": ts, "heap_live": v})

    @cached_property
    def procs(self) -> pd.DataFrame:
        """GOMAXPROCS as set during the trace: ts, gomaxprocs."""
        ts, v = self._arg0(self._spec.procs)
        return pd.DataFrame({"ts": ts, "gomaxprocs": v})

    def _arg0(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        t = self._trace
        k = np.nonzero(t.type == t.code(name))[0]
        return t.ts[k], t.args[k, 0].astype(np.int64)

    def _paired(self, begin: str, end: str) -> pd.DataFrame:
        """Begin/end events paired in order; an end before the first begin, or an unmatched
        begin at the end of the trace, is left out."""
        t = self._trace
        s = t.ts[t.type == t.code(begin)]
        e = t.ts[t.type == t.code(end)]
        if len(e) and len(s) and e[0] < s[0]:
            e = e[1:]
        m = min(len(s), len(e))
        return pd.DataFrame({"start": s[:m], "end": e[:m]})
