"""Caller/callee views: `peek` and the weighted edge list behind call graphs."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .aggregate import aggregate_nodes


@checked_options
def edges(profile: Profile, sample_index=None, *, granularity: str = "functions",
          filters: Filters | None = None) -> pd.DataFrame:
    """Every caller -> callee edge with its weight (counted once per sample)."""
    agg = aggregate_nodes(profile, sample_index, granularity=granularity, filters=filters)
    e = agg.edges()[["caller_name", "callee_name", "weight", "inline"]]
    e = e.rename(columns={"caller_name": "caller", "callee_name": "callee"})
    e = e.sort_values("weight", key=np.abs, ascending=False, kind="mergesort").reset_index(drop=True)
    e["pct"] = e["weight"] * 100.0 / agg.total if agg.total else 0.0
    e.attrs.update(unit=agg.unit, total=agg.total, source=profile.source)
    return e


@checked_options
def peek(profile: Profile, sample_index=None, *, regex: str, granularity: str = "functions",
         filters: Filters | None = None) -> pd.DataFrame:
    """Like `go tool pprof -peek`: for each node matching regex, its callers and callees.

    One row per (focus node, relation, other node): relation is 'caller', 'self'
    or 'callee'; weight is the edge weight (self rows carry flat and cum).
    """
    try:
        rx = re.compile(regex)
    except re.error as e:
        raise OptionError(profile.source, f"bad peek regexp {regex!r}: {e}") from None
    agg = aggregate_nodes(profile, sample_index, granularity=granularity, filters=filters)
    flat, cum, present = agg.node_flat_cum
    names = agg.nodes.names
    e = agg.edges()
    rows = []
    focus = [i for i in np.nonzero(present)[0] if rx.search(names[i])]
    focus.sort(key=lambda i: (-abs(cum[i]), names[i]))
    for i in focus:
        ins = e[e["callee"] == i].sort_values("weight", key=np.abs, ascending=False)
        outs = e[e["caller"] == i].sort_values("weight", key=np.abs, ascending=False)
        for r in ins.itertuples():
            rows.append((names[i], "caller", r.caller_name, int(r.weight), None, None, bool(r.inline)))
        rows.append((names[i], "self", names[i], int(cum[i]), int(flat[i]), int(cum[i]), False))
        for r in outs.itertuples():
            rows.append((names[i], "callee", r.callee_name, int(r.weight), None, None, bool(r.inline)))
    df = pd.DataFrame(rows, columns=["focus", "relation", "name", "weight", "flat", "cum", "inline"])
    df["flat"] = df["flat"].astype("Int64")
    df["cum"] = df["cum"].astype("Int64")
    df["pct"] = df["weight"] * 100.0 / agg.total if agg.total else 0.0
    df.attrs.update(unit=agg.unit, total=agg.total, source=profile.source)
    return df
