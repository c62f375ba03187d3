"""Merge profiles of the same sample types into one (like pprof's Merge)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import OptionError
from .profile import Profile


def merge(profiles: Sequence[Profile]) -> Profile:
    """One profile holding every sample of ``profiles``.

    Functions, mappings and locations are unified by content; collection time
    is the earliest, duration the sum of durations.
    """
    profiles = list(profiles)
    if not profiles:
        raise OptionError("<merge>", "nothing to merge")
    first = profiles[0]
    for p in profiles[1:]:
        if p.sample_types != first.sample_types:
            raise OptionError(p.source, f"sample types {[str(t) for t in p.sample_types]} differ from "
                              f"{[str(t) for t in first.sample_types]} of {first.source}")
    fn_keys: dict[tuple, int] = {}
    mp_keys: dict[tuple, int] = {}
    loc_keys: dict[tuple, int] = {}
    fn_rows, mp_rows = [], []
    loc_rows = []          # (mapping, address, folded, lines)
    values, offsets, stacks, label_frames = [], [], [], []
    n_samples = n_entries = 0
    for p in profiles:
        fmap = np.empty(p.n_functions, np.int64)
        for i in range(p.n_functions):
            key = (p.fn_name[i], p.fn_system_name[i], p.fn_filename[i], int(p.fn_start_line[i]))
            fmap[i] = fn_keys.setdefault(key, len(fn_keys))
            if fmap[i] == len(fn_rows):
                fn_rows.append(key)
        mmap = np.empty(len(p.mappings), np.int64)
        for i, r in enumerate(p.mappings.itertuples(index=False)):
            key = (r.file, r.build_id, int(r.memory_start), int(r.memory_limit), int(r.file_offset))
            mmap[i] = mp_keys.setdefault(key, len(mp_keys))
            if mmap[i] == len(mp_rows):
                mp_rows.append(r)
        lmap = np.empty(p.n_locations, np.int64)
        for i in range(p.n_locations):
            a, b = p.loc_line_start[i], p.loc_line_start[i + 1]
            lines = tuple((int(fmap[f]) if f >= 0 else -1, int(n), int(c)) for f, n, c in
                          zip(p.line_function[a:b], p.line_number[a:b], p.line_column[a:b]))
            m = int(mmap[p.loc_mapping[i]]) if p.loc_mapping[i] >= 0 else -1
            key = (m, int(p.loc_address[i]), lines) if (lines or p.loc_address[i]) else (m, -i - 1, p.source)
            lmap[i] = loc_keys.setdefault(key, len(loc_keys))
            if lmap[i] == len(loc_rows):
                loc_rows.append((m, int(p.loc_address[i]), bool(p.loc_is_folded[i]), lines))
        values.append(p.values)
        stacks.append(lmap[p.stack_locs])
        offsets.append(p.stack_offsets[1:] + n_entries)
        n_entries += int(p.stack_offsets[-1])
        if len(p.labels):
            lab = p.labels.copy()
            lab["sample"] += n_samples
            label_frames.append(lab)
        n_samples += p.n_samples
    stack_offsets = np.concatenate([np.zeros(1, np.int64)] + offsets)
    line_start = np.zeros(len(loc_rows) + 1, np.int64)
    np.cumsum([len(r[3]) for r in loc_rows], out=line_start[1:])
    all_lines = [ln for r in loc_rows for ln in r[3]]
    mappings = pd.DataFrame(mp_rows, columns=first.mappings.columns) if mp_rows else first.mappings.iloc[:0].copy()
    mappings["id"] = np.arange(1, len(mappings) + 1, dtype=np.uint64)
    labels = pd.concat(label_frames, ignore_index=True) if label_frames else first.labels.iloc[:0].copy()
    return first.derive(
        values=np.concatenate(values) if values else first.values[:0],
        stack_offsets=stack_offsets, stack_locs=np.concatenate(stacks).astype(np.int64),
        loc_id=np.arange(1, len(loc_rows) + 1, dtype=np.uint64),
        loc_mapping=np.array([r[0] for r in loc_rows], np.int64),
        loc_address=np.array([r[1] for r in loc_rows], np.uint64),
        loc_is_folded=np.array([r[2] for r in loc_rows], bool),
        loc_line_start=line_start,
        line_function=np.array([ln[0] for ln in all_lines], np.int64),
        line_number=np.array([ln[1] for ln in all_lines], np.int64),
        line_column=np.array([ln[2] for ln in all_lines], np.int64),
        fn_id=np.arange(1, len(fn_rows) + 1, dtype=np.uint64),
        fn_name=np.array([r[0] for r in fn_rows], object),
        fn_system_name=np.array([r[1] for r in fn_rows], object),
        fn_filename=np.array([r[2] for r in fn_rows], object),
        fn_start_line=np.array([r[3] for r in fn_rows], np.int64),
        mappings=mappings, labels=labels,
        time_nanos=min((p.time_nanos for p in profiles if p.time_nanos), default=0),
        duration_nanos=sum(p.duration_nanos for p in profiles),
        comments=[c for p in profiles for c in p.comments],
        source="merge(" + ", ".join(p.source for p in profiles) + ")",
    )
