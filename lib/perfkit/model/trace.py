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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(eq=False)
class Trace:
    source: str
    version: str                 # "1.11" ... "1.26"
    generation: str              # "legacy" | "v2"
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

    def add(self, frames, strings) -> tuple[int, int]:
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
