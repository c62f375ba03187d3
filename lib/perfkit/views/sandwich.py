"""The sandwich view: one function's callers above it and its callees below it, merged across every call site.

For each sample whose stack holds the function, the outermost occurrence (nearest the root) is the centre:
the frames from it towards the root are the callers, the frames from it towards the leaf the callees. So the
centre's value is the function's cum (each sample counted once, as in :func:`perfkit.top`) and each immediate
caller's value is the weight of its edge into the function (as in :func:`perfkit.peek`, recursion aside).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .flame import _x_offsets
from .tree import sample_stacks

SANDWICH_COLUMNS = ["id", "parent", "side", "depth", "name", "self", "total", "x"]


def _side_tree(paths: dict[tuple, list[int]]) -> pd.DataFrame:
    """Rows of one side (paths start at the function), parents before children, with x offsets."""
    keys = sorted(paths, key=lambda k: (len(k), k))
    pos = {k: i for i, k in enumerate(keys)}
    df = pd.DataFrame({"id": np.arange(len(keys)),
                       "parent": [pos[k[:-1]] if len(k) > 1 else -1 for k in keys],
                       "depth": [len(k) - 1 for k in keys],
                       "name": [k[-1] for k in keys],
                       "self": [paths[k][1] for k in keys],
                       "total": [paths[k][0] for k in keys]})
    df["merged"] = 0
    df["x"] = _x_offsets(df, "total")
    return df.drop(columns="merged")


@checked_options
def sandwich(profile: Profile, sample_index=None, *, function: str, granularity: str = "functions",
             filters: Filters | None = None) -> pd.DataFrame:
    """Callers and callees of ``function`` (an exact node name), merged across every call site.

    One row per distinct path from the function: ``side`` is 'focus' (one row, id 0, depth 0: the function
    itself, total = its cum), 'caller' (depth 1 = immediate callers, deeper = their callers) or 'callee'
    (depth 1 = direct callees). ``parent`` is the id of the frame one step nearer the function; ``x`` the
    frame's left edge within the centre's width, in the profile's unit. ``self`` of a callee is the value of
    samples whose leaf is there; of a caller, of samples whose root is there; of the focus, its flat value.
    """
    if not isinstance(function, str) or not function:
        raise OptionError(profile.source, "sandwich(): function must be a non-empty function name")
    st = sample_stacks(profile, sample_index, granularity=granularity, filters=filters)
    up: dict[tuple, list[int]] = {}
    down: dict[tuple, list[int]] = {}
    for frames, value in zip(st["frames"], st["value"]):   # frames: leaf first
        if function not in frames:
            continue
        k = len(frames) - 1 - frames[::-1].index(function)   # outermost occurrence
        value = int(value)
        callers = (function,) + tuple(frames[k + 1:])
        callees = (function,) + (tuple(frames[k - 1::-1]) if k > 0 else ())
        for side, path in ((up, callers), (down, callees)):
            for n in range(1, len(path) + 1):
                side.setdefault(path[:n], [0, 0])[0] += value
            side[path][1] += value
    if not up:
        raise OptionError(profile.source, f"sandwich(): no sample has a frame named {function!r}")
    a, b = _side_tree(up), _side_tree(down)
    a["side"] = np.where(a["depth"] == 0, "focus", "caller")
    a.loc[0, "self"] = int(b.loc[0, "self"])          # samples whose leaf is the function: its flat
    b = b[b["depth"] > 0].copy()
    b["side"] = "callee"
    shift = len(a) - 1                                  # callee ids follow the caller rows
    b["id"] = b["id"] + shift
    b["parent"] = np.where(b["parent"] == 0, 0, b["parent"] + shift)
    out = pd.concat([a, b], ignore_index=True)[SANDWICH_COLUMNS]
    out.attrs.update(st.attrs)
    out.attrs.update(function=function, cum=int(out.loc[0, "total"]), granularity=granularity)
    return out
