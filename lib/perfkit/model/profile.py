"""The in-memory profile model: numpy arrays with pandas views.

Locations, functions and mappings are addressed by *index* (0..n-1), not by
their protobuf ids, so that every view can be vectorised. Stacks are leaf
first, as in profile.proto; a location's lines are innermost (inlined) first.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from ..errors import OptionError


def runs_mask(starts: np.ndarray, lengths: np.ndarray, size: int) -> np.ndarray:
    """Boolean mask of ``size`` entries, True inside the segments [starts[i], starts[i] + lengths[i]),
    which are sorted and never overlap: one repeat of alternating gap and segment runs."""
    if not len(starts):
        return np.zeros(size, bool)
    ends = starts + lengths
    runs = np.empty(2 * len(starts) + 1, np.int64)
    runs[0] = starts[0]
    runs[2:-1:2] = starts[1:] - ends[:-1]
    runs[-1] = size - ends[-1]
    runs[1::2] = lengths
    return np.repeat(np.arange(len(runs)) % 2 == 1, runs)


def int_bincount(idx: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of weights per index (bincount when float64 is exact)."""
    weights = np.asarray(weights)
    if len(weights) == 0:
        return np.zeros(n, np.int64)
    big = max(abs(int(weights.max())), abs(int(weights.min())))     # Python ints: no overflow, no temporaries
    if big * len(weights) < 2 ** 53:
        return np.rint(np.bincount(idx, weights=weights, minlength=n)).astype(np.int64)
    out = np.zeros(n, np.int64)
    np.add.at(out, idx, weights)
    return out


@dataclass(frozen=True)
class ValueType:
    type: str
    unit: str

    def __str__(self) -> str:
        return f"{self.type}/{self.unit}"


@dataclass(eq=False)
class Profile:
    """One pprof profile.

    Large arrays: ``values`` (samples x sample types, int64), ``stack_offsets``
    (samples + 1) and ``stack_locs`` (location indices, leaf first).
    Small tables are numpy arrays of equal length per table.
    """

    sample_types: list[ValueType]
    values: np.ndarray
    stack_offsets: np.ndarray
    stack_locs: np.ndarray
    # locations
    loc_id: np.ndarray
    loc_mapping: np.ndarray          # mapping index or -1
    loc_address: np.ndarray
    loc_is_folded: np.ndarray
    loc_line_start: np.ndarray       # offsets into line_* (len = locations + 1)
    # lines (one row per frame of a location; a location without lines has none)
    line_function: np.ndarray        # function index or -1
    line_number: np.ndarray
    line_column: np.ndarray
    # functions
    fn_id: np.ndarray
    fn_name: np.ndarray              # object arrays of str
    fn_system_name: np.ndarray
    fn_filename: np.ndarray
    fn_start_line: np.ndarray
    # mappings
    mappings: pd.DataFrame
    # labels, long format: sample, key, str, num, num_unit
    labels: pd.DataFrame
    default_sample_type: str = ""
    period_type: ValueType | None = None
    period: int = 0
    time_nanos: int = 0
    duration_nanos: int = 0
    comments: list[str] = field(default_factory=list)
    drop_frames: str = ""
    keep_frames: str = ""
    doc_url: str = ""
    source: str = "<profile>"
    # per sample, two 64-bit hashes of its location sequence (hash_stacks), when the decoder made them
    # on the way; derive() drops them with the stacks they describe
    sample_hashes: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    # ---- sizes -----------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_locations(self) -> int:
        return int(self.loc_id.shape[0])

    @property
    def n_functions(self) -> int:
        return int(self.fn_id.shape[0])

    @property
    def is_empty(self) -> bool:
        return self.n_samples == 0

    @property
    def duration_seconds(self) -> float:
        return self.duration_nanos / 1e9

    @property
    def time(self) -> pd.Timestamp | None:
        return pd.Timestamp(self.time_nanos, unit="ns", tz="UTC") if self.time_nanos else None

    def __repr__(self) -> str:
        types = ", ".join(str(t) for t in self.sample_types)
        return (f"<Profile {self.source}: {self.n_samples} samples [{types}], "
                f"{self.n_locations} locations, {self.n_functions} functions, "
                f"duration {self.duration_seconds:g}s>")

    # ---- sample type selection --------------------------------------------
    @property
    def sample_type_names(self) -> list[str]:
        return [t.type for t in self.sample_types]

    def sample_index(self, name: str | int | None = None) -> int:
        """Resolve a sample type by name or position, with pprof's default."""
        if name is None:
            if self.default_sample_type:
                for i, t in enumerate(self.sample_types):
                    if t.type == self.default_sample_type:
                        return i
            return len(self.sample_types) - 1
        if isinstance(name, (int, np.integer)) or (isinstance(name, str) and name.isdigit()):
            i = int(name)
            if 0 <= i < len(self.sample_types):
                return i
            raise OptionError(self.source, f"sample index {i} out of range 0..{len(self.sample_types) - 1}")
        for i, t in enumerate(self.sample_types):
            if t.type == name:
                return i
        # pprof accepts sample_index=inuse for inuse_space etc: not here, be explicit
        raise OptionError(self.source, f"no sample type {name!r}; this profile has "
                          + ", ".join(self.sample_type_names))

    def unit(self, name: str | int | None = None) -> str:
        return self.sample_types[self.sample_index(name)].unit

    def total(self, name: str | int | None = None) -> int:
        """pprof's total: the sum of absolute sample values."""
        return int(np.abs(self.values[:, self.sample_index(name)]).sum())

    # ---- derived, cached structure ----------------------------------------
    @cached_property
    def loc_n_lines(self) -> np.ndarray:
        return np.diff(self.loc_line_start)

    @cached_property
    def stacks(self) -> "UniqueStacks":
        return UniqueStacks.build(self)

    # ---- DataFrame views --------------------------------------------------
    @property
    def samples(self) -> pd.DataFrame:
        """One row per sample: a column per sample type, stack id and depth."""
        cols = {t.type: self.values[:, i] for i, t in enumerate(self.sample_types)}
        df = pd.DataFrame(cols)
        df["stack_id"] = self.stacks.sample_stack
        df["depth"] = np.diff(self.stack_offsets)
        return df

    @property
    def functions(self) -> pd.DataFrame:
        return pd.DataFrame({
            "id": self.fn_id, "name": self.fn_name, "system_name": self.fn_system_name,
            "filename": self.fn_filename, "start_line": self.fn_start_line,
        })

    @property
    def locations(self) -> pd.DataFrame:
        """One row per (location, line), inlined frames innermost first."""
        n_lines = self.loc_n_lines
        loc_idx = np.repeat(np.arange(self.n_locations), n_lines)
        pos = np.arange(len(loc_idx)) - np.repeat(self.loc_line_start[:-1], n_lines)
        fn = self.line_function
        ok = fn >= 0
        name = np.where(ok, self.fn_name[np.where(ok, fn, 0)] if self.n_functions else "", "")
        fname = np.where(ok, self.fn_filename[np.where(ok, fn, 0)] if self.n_functions else "", "")
        mp = self.loc_mapping[loc_idx]
        return pd.DataFrame({
            "location_id": self.loc_id[loc_idx],
            "address": self.loc_address[loc_idx],
            "mapping_id": np.where(mp >= 0, self.mappings["id"].to_numpy()[np.where(mp >= 0, mp, 0)]
                                   if len(self.mappings) else 0, 0),
            "line_index": pos,
            "inlined": pos < (n_lines[loc_idx] - 1),
            "function_id": np.where(ok, self.fn_id[np.where(ok, fn, 0)] if self.n_functions else 0, 0),
            "function": name,
            "file": fname,
            "line": self.line_number,
            "column": self.line_column,
        })

    @property
    def stack_frames(self) -> pd.DataFrame:
        """Unique stacks in long form: stack_id, depth (0 = leaf), frame names."""
        st = self.stacks
        frames = st.frame_lines()
        fn = self.line_function[frames.line]
        name = np.where(fn >= 0, self.fn_name[np.where(fn >= 0, fn, 0)] if self.n_functions else "", "?")
        return pd.DataFrame({"stack_id": frames.stack, "depth": frames.depth,
                             "location_id": self.loc_id[frames.loc],
                             "function": name, "line": self.line_number[frames.line]})

    def derive(self, **changes) -> "Profile":
        """A copy with some fields replaced (caches dropped)."""
        if ("stack_offsets" in changes or "stack_locs" in changes) and "sample_hashes" not in changes:
            changes["sample_hashes"] = None
        return replace(self, **changes)


class FrameLines:
    """Frames of the unique stacks, expanded to lines (leaf-most frame first).

    Columns, each built on first use: ``stack`` (unique stack index per frame), ``depth`` (0 = leaf
    frame), ``loc`` (location index), ``line`` (row into line_*, or -1 for a location with no lines) and
    ``inline`` (an inlined call: not the last line of its location). ``stack_first`` (n + 1) gives each
    stack's first frame, so ``frames_per_stack`` needs no column.
    """

    def __init__(self, profile: Profile, offsets: np.ndarray, locs: np.ndarray):
        self._p, self._locs = profile, locs
        self._nl = np.take(profile.loc_n_lines, locs)
        self._per = np.maximum(self._nl, 1)              # a line-less location is one frame
        # each location's first frame; at most 2**31 lines per location, so int32 sums are safe while the
        # frames fit int32
        total = int(self._per.sum(dtype=np.int64))
        big = total >= 2**31 or len(profile.line_function) >= 2**31
        self._ix = np.int64 if big else np.int32          # one entry per frame: int32 halves the memory
        first = np.zeros(len(locs) + 1, self._ix)
        np.cumsum(self._per, out=first[1:])
        self._first = first
        self.total = total
        self.stack_first = first[offsets].astype(np.int64)
        self.frames_per_stack = np.diff(self.stack_first)
        self.one_per_location = self.total == len(locs)   # nothing inlined
        self.bare = bool((self._nl == 0).any())           # some location has no lines

    def __len__(self) -> int:
        return self.total

    @cached_property
    def stack(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.frames_per_stack), dtype=self._ix), self.frames_per_stack)

    @cached_property
    def depth(self) -> np.ndarray:
        d = np.arange(self.total, dtype=self._ix)
        d -= np.repeat(self.stack_first[:-1].astype(self._ix), self.frames_per_stack)
        return d

    @cached_property
    def loc(self) -> np.ndarray:
        locs = self._locs.astype(self._ix, copy=False)
        return locs if self.one_per_location else np.repeat(locs, self._per)

    def _rows(self, a: int, b: int) -> np.ndarray:
        """Line rows of the frames of locations a..b (a location's lines are consecutive rows)."""
        start = np.take(self._p.loc_line_start, self._locs[a:b])
        if self.one_per_location:
            return start.astype(self._ix)
        rows = np.arange(int(self._first[a]), int(self._first[b]), dtype=self._ix)
        rows -= np.repeat((self._first[a:b] - start).astype(self._ix), self._per[a:b])
        return rows

    @cached_property
    def line(self) -> np.ndarray:
        f_line = self._rows(0, len(self._locs))
        if self.bare:
            f_line[self._first[1:][self._nl == 0] - 1] = -1
        return f_line

    def of_lines(self, table: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
        """``table[line]`` for every frame (all locations have lines), without building ``line``."""
        if "line" in self.__dict__ or self.one_per_location:
            return np.take(table, self.line)
        out = np.empty(self.total, table.dtype)
        for a in range(0, len(self._locs), chunk):
            b = min(len(self._locs), a + chunk)
            np.take(table, self._rows(a, b), out=out[int(self._first[a]):int(self._first[b])])
        return out

    @cached_property
    def inline(self) -> np.ndarray:
        inline = np.ones(self.total, bool)
        inline[self._first[1:] - 1] = False          # each location's last frame is its own line
        return inline

    @property
    def leaf(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame index of each non-empty stack's leaf, and those stacks."""
        has = np.flatnonzero(self.frames_per_stack > 0)
        return self.stack_first[has], has


def _multipliers(n: int, salt: int) -> np.ndarray:
    """Odd 64-bit multipliers per stack position (splitmix64 of the position): the same for any n."""
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(salt)
        z *= np.uint64(0x9E3779B97F4A7C15)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z | np.uint64(1)


def hash_stacks(off: np.ndarray, locs: np.ndarray, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """Two independent position-weighted 64-bit hashes per stack (locs[off[i]:off[i+1]]), in chunks of
    stacks. A stack's hashes depend on its locations only, so hashes of parts concatenate."""
    lens = np.diff(off)
    n = len(lens)
    maxd = int(lens.max()) if n else 0
    m1, m2 = _multipliers(maxd + 1, 0x5EED), _multipliers(maxd + 1, 0xC0FFEE << 20)
    h1 = np.empty(n, np.uint64)
    h2 = np.empty(n, np.uint64)
    one = np.uint64(1)
    with np.errstate(over="ignore"):
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            lo, hi = int(off[a]), int(off[b])
            ln = lens[a:b]
            key = locs[lo:hi].astype(np.uint64)
            key += one
            pos = np.arange(hi - lo, dtype=np.int64)
            pos -= np.repeat(off[a:b] - lo, ln)
            starts = off[a:b] - lo
            nonempty = ln > 0
            for m, h in ((m1, h1), (m2, h2)):
                x = np.take(m, pos)
                x *= key
                if m is m2:
                    x += key
                c = np.zeros(len(ln), np.uint64)
                if len(x):
                    c[nonempty] = np.add.reduceat(x, starts[nonempty])
                h[a:b] = c
    return h1, h2


def _in_order_of_appearance(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes renumbered in order of first appearance, and each code's first index (increasing)."""
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    first = np.full(n_codes, -1, np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    if len(first) > 1 and not bool((first[1:] > first[:-1]).all()):
        order = np.argsort(first)
        rank = np.empty(n_codes, np.int64)
        rank[order] = np.arange(n_codes)
        codes, first = rank[codes], first[order]
    return codes, first


@dataclass
class UniqueStacks:
    """Samples grouped by identical location sequence."""
    profile: Profile
    sample_stack: np.ndarray     # per sample: unique stack index
    offsets: np.ndarray          # per unique stack: offsets into locs
    locs: np.ndarray             # location indices, leaf first

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @staticmethod
    def build(p: Profile) -> "UniqueStacks":
        n = p.n_samples
        off = p.stack_offsets
        locs = p.stack_locs
        if n == 0:
            return UniqueStacks(p, np.zeros(0, np.int64), np.zeros(1, np.int64), locs[:0])
        lens = np.diff(off)
        h = p.sample_hashes
        h1, h2 = h if h is not None and len(h[0]) == n else hash_stacks(off, locs)
        # codes in order of first appearance; the first hash alone, checked against the second and the length
        codes, first = _in_order_of_appearance(pd.factorize(h1, sort=False)[0])
        rep = np.take(first, codes)
        if not (np.array_equal(np.take(h2, rep), h2) and np.array_equal(np.take(lens, rep), lens)):
            frame = pd.DataFrame({"a": h1, "b": h2, "n": lens})          # a collision of the first hash
            codes, first = _in_order_of_appearance(frame.groupby(["a", "b", "n"], sort=False).ngroup().to_numpy())
        del rep
        ulens = lens[first]
        uoff = np.zeros(len(first) + 1, np.int64)
        np.cumsum(ulens, out=uoff[1:])
        # the first samples of the stacks come in sample order: their locations are runs of locs
        return UniqueStacks(p, codes.astype(np.int64), uoff, locs[runs_mask(off[first], ulens, len(locs))])

    def weights(self, column: int, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per unique stack: summed value, and whether any sample was non-zero."""
        v = self.profile.values[:, column] if values is None else values
        w = int_bincount(self.sample_stack, v, self.n)
        nz = np.zeros(self.n, bool)
        nz[self.sample_stack[v != 0]] = True
        return w, nz

    def frame_lines(self) -> FrameLines:
        return FrameLines(self.profile, self.offsets, self.locs)
