"""Flame graph layout: call-tree rows with x offsets, small frames merged.

Renderers (static matplotlib, interactive HTML) draw these rows; they do no
aggregation of their own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.profile import Profile
from .subsystems import as_subsystems
from .tree import call_tree

MERGED = "[{n} small frames]"


def _paths(tree: pd.DataFrame) -> np.ndarray:
    """Root-first path key of every row (rows are depth-first, parents first)."""
    keys = np.empty(len(tree), dtype=object)
    names = tree["name"].to_numpy()
    parents = tree["parent"].to_numpy()
    for i in range(len(tree)):
        p = parents[i]
        keys[i] = names[i] if p < 0 else keys[p] + "\x1f" + names[i]
    return keys


def _merge_small(tree: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Replace each parent's children below threshold by one merged frame."""
    if threshold <= 0 or tree.empty:
        return tree
    total = tree["total"].to_numpy()
    parents = tree["parent"].to_numpy()
    small = np.abs(total) < threshold
    # drop everything beneath a small frame
    dropped = np.zeros(len(tree), bool)
    for i in range(len(tree)):
        p = parents[i]
        if p >= 0 and (dropped[p] or small[p]):
            dropped[i] = True
    keep_rows = ~dropped & ~small
    merged_rows = []
    sm = tree[small & ~dropped]
    for parent, grp in sm.groupby("parent", sort=False):
        merged_rows.append({"parent": parent, "depth": int(grp["depth"].iloc[0]),
                            "name": MERGED.format(n=len(grp)), "self": int(grp["total"].sum()),
                            "total": int(grp["total"].sum()), "merged": len(grp)})
    out = tree[keep_rows].copy()
    out["merged"] = 0
    if merged_rows:
        out = pd.concat([out, pd.DataFrame(merged_rows)], ignore_index=False)
    # renumber depth-first (merged frames last among their siblings)
    out["_old"] = out.index.where(out["merged"] == 0, -1)
    out = out.reset_index(drop=True)
    order = []
    children: dict[int, list[int]] = {}
    olds = out["_old"].to_numpy()
    par = out["parent"].to_numpy()
    for i in range(len(out)):
        children.setdefault(int(par[i]), []).append(i)
    pos_of_old = {int(o): i for i, o in enumerate(olds) if o >= 0}
    stack = list(reversed(children.get(-1, [])))
    while stack:
        i = stack.pop()
        order.append(i)
        o = olds[i]
        if o >= 0:
            stack.extend(reversed(children.get(int(o), [])))
    out = out.iloc[order].reset_index(drop=True)
    new_pos = np.full(len(tree) + 1, -1, np.int64)
    for new, o in enumerate(out["_old"].to_numpy()):
        if o >= 0:
            new_pos[o] = new
    out["parent"] = [int(new_pos[p]) if p >= 0 else -1 for p in out["parent"].to_numpy()]
    out["id"] = np.arange(len(out))
    del pos_of_old
    return out.drop(columns="_old")


def _x_offsets(tree: pd.DataFrame, width_col: str) -> np.ndarray:
    x = np.zeros(len(tree))
    next_x: dict[int, float] = {}
    par = tree["parent"].to_numpy()
    w = np.abs(tree[width_col].to_numpy(float))
    root_x = 0.0
    for i in range(len(tree)):
        p = par[i]
        if p < 0:
            x[i] = root_x
            root_x += w[i]
        else:
            start = next_x.get(p, x[p])
            x[i] = start
            next_x[p] = start + w[i]
    return x


def flame_layout(profile: Profile, sample_index=None, *, min_fraction: float = 0.001, inverted: bool = False,
                 subsystems=None, **filters) -> pd.DataFrame:
    """Rows: id, parent, depth, name, self, total, x, subsystem, merged.

    x and total are in the profile's unit; frames whose total is below
    ``min_fraction`` of the graph's total are merged per parent.
    """
    tree = call_tree(profile, sample_index, inverted=inverted, **filters)
    grand = int(tree.loc[tree.parent == -1, "total"].abs().sum()) if len(tree) else 0
    out = _merge_small(tree, min_fraction * grand)
    if "merged" not in out:
        out["merged"] = 0
    out["x"] = _x_offsets(out, "total")
    subs = as_subsystems(subsystems)
    out["subsystem"] = [("other" if m else subs.classify(n)) for n, m in zip(out["name"], out["merged"])]
    out.attrs.update(tree.attrs)
    out.attrs.update(grand_total=grand, min_fraction=min_fraction)
    return out


def diff_flame_layout(base: Profile, target: Profile, sample_index=None, *, normalize: str = "total",
                      min_fraction: float = 0.001, reverse: bool = False, **filters) -> pd.DataFrame:
    """Differential layout: widths from the target (or from the base when reverse).

    Adds base, target, delta and delta_pct per frame (matched by call path),
    values normalised by ``normalize`` ("total": base scaled to the target's
    total; "per_second": both per second of their duration), and ``only_in``
    ('target' when the path is absent from the base, 'base' for the reverse).
    """
    from ..errors import OptionError
    if normalize not in ("total", "per_second", None):
        raise OptionError(target.source, f"normalize must be 'total', 'per_second' or None, not {normalize!r}")
    tb = call_tree(base, sample_index, **filters)
    tt = call_tree(target, sample_index, **filters)
    bs = ts = 1.0
    if normalize == "per_second":
        for p in (base, target):
            if p.duration_nanos <= 0:
                raise OptionError(p.source, "no duration: cannot normalise per second")
        bs, ts = 1e9 / base.duration_nanos, 1e9 / target.duration_nanos
    elif normalize == "total":
        btot = tb.loc[tb.parent == -1, "total"].sum()
        ttot = tt.loc[tt.parent == -1, "total"].sum()
        bs = ttot / btot if btot else 1.0
    shape, other, s_shape, s_other = (tb, tt, bs, ts) if reverse else (tt, tb, ts, bs)
    grand = float(shape.loc[shape.parent == -1, "total"].abs().sum())
    lay = _merge_small(shape, min_fraction * grand)
    if "merged" not in lay:
        lay["merged"] = 0
    lay["x"] = _x_offsets(lay, "total") * s_shape
    other_total = dict(zip(_paths(other), other["total"].to_numpy()))
    keys = _paths(lay)
    mine = lay["total"].to_numpy(float) * s_shape
    theirs = np.array([other_total.get(k, np.nan) if not m else np.nan
                       for k, m in zip(keys, lay["merged"].to_numpy())], float) * s_other
    if reverse:
        lay["base"], lay["target"] = mine, np.nan_to_num(theirs)
    else:
        lay["base"], lay["target"] = np.nan_to_num(theirs), mine
    lay["only_in"] = np.where(np.isnan(theirs) & (lay["merged"].to_numpy() == 0),
                              "base" if reverse else "target", "")
    lay["delta"] = lay["target"] - lay["base"]
    with np.errstate(divide="ignore", invalid="ignore"):
        lay["delta_pct"] = np.where(lay["base"] != 0, lay["delta"] * 100.0 / lay["base"], np.nan)
    lay["width"] = mine
    lay["noise"] = _noise(base, target, sample_index, filters, lay, keys, bs, ts, reverse)
    lay.attrs.update(unit=tt.attrs.get("unit", ""), normalize=normalize, reverse=reverse,
                     base=base.source, target=target.source, grand_total=grand * s_shape)
    return lay


def _noise(base, target, sample_index, filters, lay, keys, bs, ts, reverse) -> np.ndarray:
    """Per frame: the delta lies within the ~95 % sampling interval (CPU profiles only)."""
    from .diff import _count_index, poisson_ci95
    bi, ti = _count_index(base), _count_index(target)
    out = np.zeros(len(lay), bool)
    if bi is None or ti is None:
        return out
    cb = call_tree(base, bi, **filters)
    ct = call_tree(target, ti, **filters)
    nb_map = dict(zip(_paths(cb), cb["total"].to_numpy()))
    nt_map = dict(zip(_paths(ct), ct["total"].to_numpy()))
    nb = np.array([nb_map.get(k, 0) for k in keys], float)
    nt = np.array([nt_map.get(k, 0) for k in keys], float)
    half = poisson_ci95(lay["base"].to_numpy(float), nb, lay["target"].to_numpy(float), nt, bs, ts)
    out = np.abs(lay["delta"].to_numpy(float)) <= half
    out[lay["merged"].to_numpy() > 0] = True
    return out
