"""The hottest code path: greedy descent through the call tree."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from ..views.tree import call_tree


@checked_options
def hot_path(profile: Profile, sample_index=None, *, through: str | None = None,
             filters: Filters | None = None) -> pd.DataFrame:
    """The heaviest root-to-leaf path, one row per frame (root first).

    At every step the child with the largest total is followed. With
    ``through`` (a regexp), the path is the one leading to the heaviest call
    tree node whose name matches, then continues greedily below it.
    Columns: depth, name, total, self, pct (of the profile total), and for a
    CPU profile with a duration, cores (total per second of wall time).
    """
    tree = call_tree(profile, sample_index, filters=filters)
    if tree.empty:
        return pd.DataFrame(columns=["depth", "name", "total", "self", "pct"])
    total = tree.attrs["total"]
    children: dict[int, list[int]] = {}
    for i, p in zip(tree["id"].to_numpy(), tree["parent"].to_numpy()):
        children.setdefault(int(p), []).append(int(i))
    tot = tree["total"].to_numpy()
    par = tree["parent"].to_numpy()
    if through:
        rx = re.compile(through)
        hits = [i for i, n in enumerate(tree["name"]) if rx.search(n)]
        if not hits:
            return pd.DataFrame(columns=["depth", "name", "total", "self", "pct"])
        node = max(hits, key=lambda i: (tot[i], -i))
        path = [node]
        while par[path[-1]] >= 0:
            path.append(int(par[path[-1]]))
        path.reverse()
    else:
        roots = children.get(-1, [])
        path = [max(roots, key=lambda i: tot[i])]
    while children.get(path[-1]):
        path.append(max(children[path[-1]], key=lambda i: tot[i]))
    rows = tree.iloc[path]
    out = pd.DataFrame({"depth": np.arange(len(rows)), "name": rows["name"].to_numpy(),
                        "total": rows["total"].to_numpy(), "self": rows["self"].to_numpy()})
    out["pct"] = out["total"] * 100.0 / total if total else np.nan
    if tree.attrs.get("unit") == "nanoseconds" and profile.duration_nanos > 0:
        out["cores"] = out["total"] / profile.duration_nanos
    out.attrs.update(tree.attrs)
    return out
