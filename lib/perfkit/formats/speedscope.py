"""speedscope's JSON file format ('sampled' profiles, shared frame table)."""
from __future__ import annotations

import json
import os

import numpy as np

from ..model.profile import Profile
from ..views.aggregate import aggregate

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
_UNITS = {"nanoseconds": "nanoseconds", "bytes": "bytes", "microseconds": "microseconds",
          "milliseconds": "milliseconds", "seconds": "seconds"}


def to_speedscope(profile: Profile, sample_index=None, **filters) -> dict:
    agg = aggregate(profile, sample_index, "functions", **filters)
    p = agg.profile
    fr = agg.frames
    # one speedscope frame per function name (with file and line of the function)
    names = agg.nodes.names
    first_line = {}
    for node, line in zip(agg.frame_node.tolist(), fr.line.tolist()):
        if node not in first_line and line >= 0:
            first_line[node] = line
    frames = []
    for i, nm in enumerate(names):
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
    unit = _UNITS.get(agg.unit, "none")
    return {
        "$schema": SCHEMA,
        "shared": {"frames": frames},
        "profiles": [{
            "type": "sampled", "name": f"{os.path.basename(profile.source)} {agg.sample_type}",
            "unit": unit, "startValue": 0, "endValue": int(sum(weights)),
            "samples": samples, "weights": weights,
        }],
        "name": os.path.basename(profile.source),
        "activeProfileIndex": 0,
        "exporter": "perfkit",
    }


def write_speedscope(profile: Profile, path: str | os.PathLike, **kw):
    from ..fileio import write_text
    return write_text(path, json.dumps(to_speedscope(profile, **kw)))
