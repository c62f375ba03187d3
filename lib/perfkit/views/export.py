"""A profile's stacks written as folded text or speedscope JSON."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..fileio import write_text
from ..formats.folded import folded_text
from ..formats.speedscope import speedscope_document
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .aggregate import aggregate_nodes
from .tree import sample_stacks


@checked_options
def to_folded(profile: Profile, sample_index=None, *, granularity: str = "functions",
              filters: Filters | None = None) -> str:
    """Folded stacks ('root;caller;leaf value' per line), largest first."""
    st = sample_stacks(profile, sample_index, granularity=granularity, filters=filters)
    return folded_text(zip(st["folded"], st["value"]))


@checked_options
def to_speedscope(profile: Profile, sample_index=None, *, filters: Filters | None = None) -> dict:
    """speedscope's 'sampled' JSON document, one frame per function."""
    agg = aggregate_nodes(profile, sample_index, filters=filters)
    p = agg.profile
    fr = agg.frames
    # one speedscope frame per function name (with file and line of the function)
    first_line = {}
    for node, line in zip(agg.frame_node.tolist(), fr.line.tolist()):
        if node not in first_line and line >= 0:
            first_line[node] = line
    frames = []
    for i, nm in enumerate(agg.nodes.names):
        f = {"name": str(nm)}
        ln = first_line.get(i)
        if ln is not None:
            fn = p.line_function[ln]
            if fn >= 0 and p.fn_filename[fn]:
                f["file"] = str(p.fn_filename[fn])
                if p.fn_start_line[fn]:
                    f["line"] = int(p.fn_start_line[fn])
        frames.append(f)
    per_stack = [[] for _ in range(len(agg.stack_weight))]
    for s, node in zip(fr.stack.tolist(), agg.frame_node.tolist()):
        per_stack[s].append(node)
    live = np.nonzero(agg.stack_live)[0]
    samples = [list(reversed(per_stack[s])) for s in live]      # speedscope wants root first
    weights = [int(agg.stack_weight[s]) for s in live]
    name = os.path.basename(profile.source)
    return speedscope_document(name, f"{name} {agg.sample_type}", agg.unit, frames, samples, weights)


@checked_options
def write_folded(profile: Profile, path: str | os.PathLike, sample_index=None, *,
                 granularity: str = "functions", filters: Filters | None = None,
                 overwrite: bool = True) -> Path:
    return write_text(path, to_folded(profile, sample_index, granularity=granularity, filters=filters),
                      overwrite=overwrite)


@checked_options
def write_speedscope(profile: Profile, path: str | os.PathLike, sample_index=None, *,
                     filters: Filters | None = None, overwrite: bool = True) -> Path:
    return write_text(path, json.dumps(to_speedscope(profile, sample_index, filters=filters)),
                      overwrite=overwrite)
