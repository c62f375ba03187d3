"""Encode a Profile back into profile.proto (gzip-compressed, as Go writes it)."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..model.profile import Profile


class _StringTable:
    def __init__(self):
        self.index = {"": 0}
        self.table = [""]

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def encode_message(p: Profile):
    from ..proto import profile_pb2
    m = profile_pb2.Profile()
    S = _StringTable()
    for t in p.sample_types:
        m.sample_type.add(type=S(t.type), unit=S(t.unit))
    mp_ids = np.arange(1, len(p.mappings) + 1)
    for i, r in enumerate(p.mappings.itertuples(index=False)):
        m.mapping.add(id=int(mp_ids[i]), memory_start=int(r.memory_start), memory_limit=int(r.memory_limit),
                      file_offset=int(r.file_offset), filename=S(r.file), build_id=S(r.build_id),
                      has_functions=bool(r.has_functions), has_filenames=bool(r.has_filenames),
                      has_line_numbers=bool(r.has_line_numbers), has_inline_frames=bool(r.has_inline_frames))
    for i in range(p.n_functions):
        m.function.add(id=i + 1, name=S(p.fn_name[i]), system_name=S(p.fn_system_name[i]),
                       filename=S(p.fn_filename[i]), start_line=int(p.fn_start_line[i]))
    for i in range(p.n_locations):
        loc = m.location.add(id=i + 1, mapping_id=int(mp_ids[p.loc_mapping[i]]) if p.loc_mapping[i] >= 0 else 0,
                             address=int(p.loc_address[i]), is_folded=bool(p.loc_is_folded[i]))
        for j in range(p.loc_line_start[i], p.loc_line_start[i + 1]):
            f = p.line_function[j]
            loc.line.add(function_id=int(f) + 1 if f >= 0 else 0, line=int(p.line_number[j]),
                         column=int(p.line_column[j]))
    labels_by_sample: dict[int, list] = {}
    for r in p.labels.itertuples(index=False):
        labels_by_sample.setdefault(int(r.sample), []).append(r)
    locs = (p.stack_locs.astype(np.int64) + 1).tolist()
    off = p.stack_offsets.tolist()
    vals = p.values.tolist()
    for i in range(p.n_samples):
        s = m.sample.add(location_id=locs[off[i]:off[i + 1]], value=vals[i])
        for r in labels_by_sample.get(i, ()):
            if r.str:
                s.label.add(key=S(r.key), str=S(r.str))
            else:
                s.label.add(key=S(r.key), num=int(r.num), num_unit=S(r.num_unit) if r.num_unit else 0)
    if p.period_type is not None:
        m.period_type.type = S(p.period_type.type)
        m.period_type.unit = S(p.period_type.unit)
    m.period = p.period
    m.time_nanos = p.time_nanos
    m.duration_nanos = p.duration_nanos
    m.comment.extend(S(c) for c in p.comments)
    m.drop_frames = S(p.drop_frames) if p.drop_frames else 0
    m.keep_frames = S(p.keep_frames) if p.keep_frames else 0
    m.default_sample_type = S(p.default_sample_type) if p.default_sample_type else 0
    m.doc_url = S(p.doc_url) if p.doc_url else 0
    m.string_table.extend(S.table)
    return m


def encode_profile(p: Profile, compress: bool = True) -> bytes:
    data = encode_message(p).SerializeToString()
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


def write_profile(p: Profile, path: str | os.PathLike, compress: bool = True) -> Path:
    from .files import write_bytes
    return write_bytes(path, encode_profile(p, compress))
