"""Build a perfkit Profile from samples, for profiles derived from other data.

    b = ProfileBuilder([("contentions", "count"), ("delay", "nanoseconds")],
                       period_type=("trace", "count"), period=1, source="x [net]")
    b.add_sample([("main.wait", "/src/main.go", 12), ("main.main", "/src/main.go", 3)], [1, 250])
    profile = b.build()

A stack is a sequence of frames, leaf first; a frame is ``(function, file, line)``
or ``(function, file, line, address)``. Functions are deduplicated by (name, file),
locations by the whole frame, so each distinct frame becomes one location with one line.
Write the result with ``perfkit.formats.pprof.write_profile``.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import OptionError
from .profile import Profile, ValueType

_MAPPING_COLUMNS = {"id": np.uint64, "memory_start": np.uint64, "memory_limit": np.uint64,
                    "file_offset": np.uint64, "file": object, "build_id": object, "has_functions": bool,
                    "has_filenames": bool, "has_line_numbers": bool, "has_inline_frames": bool}


class ProfileBuilder:
    """Collects samples (stack + one value per sample type) and builds a Profile."""

    def __init__(self, sample_types: Sequence[tuple[str, str]], *, period_type: tuple[str, str] | None = None,
                 period: int = 0, duration_nanos: int = 0, time_nanos: int = 0,
                 default_sample_type: str = "", source: str = "<derived>"):
        if not sample_types:
            raise OptionError(source, "a profile needs at least one sample type")
        self.sample_types = [ValueType(str(t), str(u)) for t, u in sample_types]
        self.period_type = ValueType(*period_type) if period_type else None
        self.period = int(period)
        self.duration_nanos = int(duration_nanos)
        self.time_nanos = int(time_nanos)
        self.default_sample_type = default_sample_type
        self.source = source
        self._functions: dict[tuple[str, str], int] = {}
        self._locations: dict[tuple, int] = {}
        self._loc_fn: list[int] = []
        self._values: list[Sequence[int]] = []
        self._stack_locs: list[int] = []
        self._offsets: list[int] = [0]
        self._labels: list[tuple[int, str, str, int, str]] = []

    def add_sample(self, stack: Iterable[tuple], values: Sequence[int],
                   labels: Mapping[str, str | int] | None = None) -> "ProfileBuilder":
        """One sample: its frames (leaf first), one integer value per sample type, and
        optional labels (a str value is a string label, an int a numeric one)."""
        if len(values) != len(self.sample_types):
            raise OptionError(self.source, f"a sample has {len(values)} values but the profile has "
                              f"{len(self.sample_types)} sample types")
        locs, fns = self._locations, self._functions
        for fr in stack:
            if type(fr) is not tuple:
                fr = tuple(fr)
            loc = locs.get(fr)
            if loc is None:
                if len(fr) not in (3, 4):
                    raise OptionError(self.source, f"a frame is (function, file, line[, address]), got {fr!r}")
                key = (str(fr[0]), str(fr[1]))
                fn = fns.get(key)
                if fn is None:
                    fn = fns[key] = len(fns)
                loc = locs[fr] = len(locs)
                self._loc_fn.append(fn)
            self._stack_locs.append(loc)
        self._offsets.append(len(self._stack_locs))
        self._values.append([int(v) for v in values])
        if labels:
            i = len(self._values) - 1
            for k, v in labels.items():
                if isinstance(v, str):
                    self._labels.append((i, k, v, 0, ""))
                else:
                    self._labels.append((i, k, "", int(v), ""))
        return self

    def build(self) -> Profile:
        nfn, nloc, k = len(self._functions), len(self._locations), len(self.sample_types)
        fn_name = np.empty(nfn, object)
        fn_file = np.empty(nfn, object)
        for (name, file), i in self._functions.items():
            fn_name[i], fn_file[i] = name, file
        frames = list(self._locations)          # insertion order = location index
        line_number = np.fromiter((int(f[2]) for f in frames), np.int64, nloc)
        address = np.fromiter((int(f[3]) if len(f) == 4 else 0 for f in frames), np.uint64, nloc)
        values = np.asarray(self._values, np.int64).reshape(-1, k)
        lab = self._labels
        labels = pd.DataFrame({"sample": np.asarray([r[0] for r in lab], np.int64),
                               "key": np.asarray([r[1] for r in lab], object),
                               "str": np.asarray([r[2] for r in lab], object),
                               "num": np.asarray([r[3] for r in lab], np.int64),
                               "num_unit": np.asarray([r[4] for r in lab], object)})
        mappings = pd.DataFrame({c: np.zeros(0, dt) for c, dt in _MAPPING_COLUMNS.items()})
        return Profile(
            sample_types=list(self.sample_types), values=values,
            stack_offsets=np.asarray(self._offsets, np.int64),
            stack_locs=np.asarray(self._stack_locs, np.int32 if nloc < 2**31 else np.int64),
            loc_id=np.arange(1, nloc + 1, dtype=np.uint64), loc_mapping=np.full(nloc, -1, np.int64),
            loc_address=address, loc_is_folded=np.zeros(nloc, bool),
            loc_line_start=np.arange(nloc + 1, dtype=np.int64),
            line_function=np.asarray(self._loc_fn, np.int64), line_number=line_number,
            line_column=np.zeros(nloc, np.int64),
            fn_id=np.arange(1, nfn + 1, dtype=np.uint64), fn_name=fn_name, fn_system_name=fn_name.copy(),
            fn_filename=fn_file, fn_start_line=np.zeros(nfn, np.int64),
            mappings=mappings, labels=labels, default_sample_type=self.default_sample_type,
            period_type=self.period_type, period=self.period, time_nanos=self.time_nanos,
            duration_nanos=self.duration_nanos, source=self.source,
        )
