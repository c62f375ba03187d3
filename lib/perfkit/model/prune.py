"""drop_frames / keep_frames: the pruning pprof applies to every profile it reads.

A frame whose (simplified) function name fully matches drop_frames, and not
keep_frames, is removed together with everything beneath it (towards the
leaf), scanning each stack from the root and only after a first frame that
is kept, so a stack is never pruned away entirely from its root.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import ProfileError
from .profile import Profile

_RESERVED = ("(anonymous namespace)", "operator()")
_BRACKET = re.compile("|".join(re.escape(x) for x in (*_RESERVED, "(")))


def simplify_function(name: str) -> str:
    """Drop an argument list: cut at the first '(' that does not start a reserved C++ name."""
    name = name[1:] if name.startswith(".") else name
    for m in _BRACKET.finditer(name):
        if m.group(0) not in _RESERVED:
            return name[:m.start()]
    return name


def prune_frames(p: Profile) -> Profile:
    """Apply the profile's own drop_frames/keep_frames; unchanged when drop_frames is empty."""
    if not p.drop_frames:
        return p
    try:
        drop = re.compile(f"^(?:{p.drop_frames})$")
        keep = re.compile(f"^(?:{p.keep_frames})$") if p.keep_frames else None
    except re.error as e:
        raise ProfileError(p.source, f"drop_frames/keep_frames is not a valid regexp: {e}") from None
    cache: dict[str, bool] = {}

    def cut_here(name: str) -> bool:
        hit = cache.get(name)
        if hit is None:
            s = simplify_function(name)
            hit = cache[name] = bool(drop.match(s)) and not (keep is not None and keep.match(s))
        return hit

    n_loc = p.n_locations
    prune = np.zeros(n_loc, bool)           # the whole location goes
    beneath = np.zeros(n_loc, bool)         # everything beneath it goes
    new_start = np.zeros(n_loc, np.int64)   # first line kept (lines are innermost first)
    for i in range(n_loc):
        a, b = int(p.loc_line_start[i]), int(p.loc_line_start[i + 1])
        new_start[i] = a
        for j in range(b - 1, a - 1, -1):   # from the outermost line inwards
            f = p.line_function[j]
            if f >= 0 and p.fn_name[f] and cut_here(p.fn_name[f]):
                beneath[i] = True
                if j == b - 1:              # the outermost line matched: the whole location goes
                    prune[i] = True
                else:                       # keep the lines outside the match
                    new_start[i] = j + 1
                break
    if not beneath.any():
        return p
    # lines: keep [new_start, end) of every location
    lens = p.loc_line_start[1:] - new_start
    keep_line = np.zeros(len(p.line_function), bool)
    for i in np.nonzero(lens > 0)[0]:
        keep_line[new_start[i]:p.loc_line_start[i + 1]] = True
    starts = np.zeros(n_loc + 1, np.int64)
    np.cumsum(lens, out=starts[1:])
    # stacks: scan from the root for the first cut after a kept frame
    off, locs = p.stack_offsets, p.stack_locs
    new_locs, new_off = [], [0]
    for s in range(p.n_samples):
        st = locs[off[s]:off[s + 1]]
        cut = None
        found_user = False
        for k in range(len(st) - 1, -1, -1):
            loc = st[k]
            if not prune[loc] and not beneath[loc]:
                found_user = True
                continue
            if not found_user:
                continue
            cut = k + 1 if prune[loc] else k
            break
        kept = st if cut is None else st[cut:]
        new_locs.append(kept)
        new_off.append(new_off[-1] + len(kept))
    return p.derive(loc_line_start=starts, line_function=p.line_function[keep_line],
                    line_number=p.line_number[keep_line], line_column=p.line_column[keep_line],
                    stack_locs=np.concatenate(new_locs).astype(locs.dtype) if new_locs else locs[:0],
                    stack_offsets=np.asarray(new_off, np.int64))
