"""Flame graph layout: call-tree rows with x offsets, small frames merged.

Renderers (static matplotlib, interactive HTML) draw these rows; they do no
aggregation of their own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .diff import normalization_scales, poisson_ci95, sample_count_index
from .subsystems import as_subsystems
from .tree import call_tree

MERGED = "[{n} small frames]"


def _path_keys(tree: pd.DataFrame) -> np.ndarray:
    """Root-first path key of every row (rows are depth-first, parents first)."""
    keys = np.empty(len(tree), dtype=object)
    names = tree["name"].to_numpy()
    parents = tree["parent"].to_numpy()
    for i in range(len(tree)):
        p = parents[i]
        keys[i] = names[i] if p < 0 else keys[p] + "\x1f" + names[i]
    return keys


def _merge_small(tree: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Replace each parent's children below threshold by one merged frame.

    Works level by level on a tree whose parents precede their children. A
    lone small child keeps its name; several become "[N small frames]".
    """
    tree = tree.copy()
    tree["merged"] = 0
    if threshold <= 0 or tree.empty:
        return tree
    total = tree["total"].to_numpy()
    parents = tree["parent"].to_numpy()
    depth = tree["depth"].to_numpy()
    small = np.abs(total) < threshold
    gone = np.zeros(len(tree), bool)              # beneath a small frame
    for d in range(1, int(depth.max()) + 1):
        rows = np.nonzero(depth == d)[0]
        p = parents[rows]
        gone[rows] = gone[p] | small[p]
    cand = small & ~gone
    keep = ~small & ~gone
    sm = pd.DataFrame({"parent": parents[cand], "depth": depth[cand], "total": total[cand],
                       "name": tree["name"].to_numpy()[cand]})
    g = sm.groupby(["parent", "depth"], sort=False).agg(total=("total", "sum"), n=("total", "size"),
                                                        name=("name", "first")).reset_index()
    merged = pd.DataFrame({
        "parent": g["parent"].to_numpy(), "depth": g["depth"].to_numpy(),
        "name": np.where(g["n"].to_numpy() == 1, g["name"].to_numpy(),
                         np.array([MERGED.format(n=n) for n in g["n"]], dtype=object)),
        "self": g["total"].to_numpy(), "total": g["total"].to_numpy(), "merged": g["n"].to_numpy()})
    kept = tree[keep]
    # renumber: kept rows keep their relative order, merged rows follow their level
    new_id = np.full(len(tree), -1, np.int64)
    new_id[np.nonzero(keep)[0]] = np.arange(int(keep.sum()))
    kept = kept.assign(parent=np.where(kept["parent"].to_numpy() >= 0, new_id[np.maximum(kept["parent"].to_numpy(), 0)], -1))
    merged["parent"] = np.where(merged["parent"].to_numpy() >= 0, new_id[np.maximum(merged["parent"].to_numpy(), 0)], -1)
    out = pd.concat([kept.drop(columns=["id"]), merged], ignore_index=True)
    # stable by depth: parents (shallower) stay before children
    order = np.argsort(out["depth"].to_numpy(), kind="stable")
    remap = np.empty(len(out), np.int64)
    remap[order] = np.arange(len(out))
    out = out.iloc[order].reset_index(drop=True)
    par = out["parent"].to_numpy()
    # parent ids so far refer to positions in `kept`, which are positions in out before sorting
    out["parent"] = np.where(par >= 0, remap[np.maximum(par, 0)], -1)
    out.insert(0, "id", np.arange(len(out)))
    return out


def _x_offsets(tree: pd.DataFrame, width_col: str) -> np.ndarray:
    """Left edge of every frame: siblings side by side by name, merged frames last."""
    w = np.abs(tree[width_col].to_numpy(float))
    par = tree["parent"].to_numpy()
    depth = tree["depth"].to_numpy()
    merged = tree["merged"].to_numpy() if "merged" in tree else np.zeros(len(tree))
    names = tree["name"].to_numpy()
    x = np.zeros(len(tree))
    for d in range(int(depth.max()) + 1 if len(tree) else 0):
        rows = np.nonzero(depth == d)[0]
        order = rows[np.lexsort((names[rows].astype(str), merged[rows] > 0, par[rows]))]
        ws = w[order]
        ps = par[order]
        csum = np.cumsum(ws)
        # start of each sibling group
        first = np.ones(len(order), bool)
        first[1:] = ps[1:] != ps[:-1]
        grp_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        before = csum - ws - (csum[grp_start] - ws[grp_start])
        base = np.where(ps >= 0, x[np.maximum(ps, 0)], 0.0)
        x[order] = base + before
    return x


@checked_options
def flame_layout(profile: Profile, sample_index=None, *, min_fraction: float = 0.001, inverted: bool = False,
                 subsystems=None, filters: Filters | None = None) -> pd.DataFrame:
    """Rows: id, parent, depth, name, self, total, x, subsystem, merged.

    x and total are in the profile's unit; frames whose total is below
    ``min_fraction`` of the graph's total are merged per parent.
    """
    tree = call_tree(profile, sample_index, inverted=inverted, order="bfs", filters=filters,
                     prune_below=max(min_fraction, 0.0))
    grand = int(tree.loc[tree.parent == -1, "total"].abs().sum()) if len(tree) else 0
    out = _merge_small(tree, min_fraction * grand)
    out["x"] = _x_offsets(out, "total")
    subs = as_subsystems(subsystems)
    out["subsystem"] = [("other" if m > 1 else subs.classify(n)) for n, m in zip(out["name"], out["merged"])]
    out.attrs.update(tree.attrs)
    out.attrs.update(grand_total=grand, min_fraction=min_fraction)
    return out


@checked_options
def diff_flame_layout(base: Profile, target: Profile, sample_index=None, *, normalize: str | None = "total",
                      min_fraction: float = 0.001, reverse: bool = False,
                      filters: Filters | None = None) -> pd.DataFrame:
    """Differential layout: widths from the target (or from the base when reverse).

    Adds base, target, delta and delta_pct per frame (matched by call path),
    values normalised by ``normalize`` ("total": base scaled to the target's
    total; "per_second": both per second of their duration), and ``only_in``
    ('target' when the path is absent from the base, 'base' for the reverse).
    """
    if normalize not in ("total", "per_second", None):
        raise OptionError(target.source, f"normalize must be 'total', 'per_second' or None, not {normalize!r}")
    tb = call_tree(base, sample_index, order="bfs", filters=filters)
    tt = call_tree(target, sample_index, order="bfs", filters=filters)
    bs, ts = normalization_scales(base, target, normalize, tb.loc[tb.parent == -1, "total"].sum(),
                                  tt.loc[tt.parent == -1, "total"].sum())
    shape, other, s_shape, s_other = (tb, tt, bs, ts) if reverse else (tt, tb, ts, bs)
    grand = float(shape.loc[shape.parent == -1, "total"].abs().sum())
    lay = _merge_small(shape, min_fraction * grand)
    lay["x"] = _x_offsets(lay, "total") * s_shape
    other_total = dict(zip(_path_keys(other), other["total"].to_numpy()))
    keys = _path_keys(lay)
    mine = lay["total"].to_numpy(float) * s_shape
    theirs = np.array([other_total.get(k, np.nan) if m <= 1 else np.nan
                       for k, m in zip(keys, lay["merged"].to_numpy())], float) * s_other
    if reverse:
        lay["base"], lay["target"] = mine, np.nan_to_num(theirs)
    else:
        lay["base"], lay["target"] = np.nan_to_num(theirs), mine
    lay["only_in"] = np.where(np.isnan(theirs) & (lay["merged"].to_numpy() <= 1),
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
    bi, ti = sample_count_index(base), sample_count_index(target)
    out = np.zeros(len(lay), bool)
    if bi is None or ti is None:
        return out
    cb = call_tree(base, bi, order="bfs", filters=filters)
    ct = call_tree(target, ti, order="bfs", filters=filters)
    nb_map = dict(zip(_path_keys(cb), cb["total"].to_numpy()))
    nt_map = dict(zip(_path_keys(ct), ct["total"].to_numpy()))
    nb = np.array([nb_map.get(k, 0) for k in keys], float)
    nt = np.array([nt_map.get(k, 0) for k in keys], float)
    half = poisson_ci95(lay["base"].to_numpy(float), nb, lay["target"].to_numpy(float), nt, bs, ts)
    out = np.abs(lay["delta"].to_numpy(float)) <= half
    out[lay["merged"].to_numpy() > 1] = True
    return out
