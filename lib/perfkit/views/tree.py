"""Call trees (the structure flame graphs draw) and distinct stack traces."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile, int_bincount
from .aggregate import aggregate_nodes


@checked_options
def call_tree(profile: Profile, sample_index=None, *, granularity: str = "functions",
              inverted: bool = False, order: str = "dfs", filters: Filters | None = None,
              prune_below: float = 0.0) -> pd.DataFrame:
    """The call tree: one row per distinct call path.

    Columns: id, parent (-1 for roots), depth, name, self, total. Top-down
    (root callers first) by default; ``inverted=True`` builds it leaf first.
    Rows are ordered depth-first with children by name (``order="dfs"``), or
    level by level (``order="bfs"``, cheaper for big trees); either way a
    parent's row comes before its children's and ``id`` is the row position.
    ``prune_below`` (a fraction of the total): the children of a frame whose |total| is below it are
    left out (what a flame graph merges away anyway); the frame's self is then its total.
    """
    if order not in ("dfs", "bfs"):
        raise OptionError(profile.source, f"order must be 'dfs' or 'bfs', not {order!r}")
    agg = aggregate_nodes(profile, sample_index, granularity=granularity, filters=filters)
    fr = agg.frames
    w = agg.stack_weight
    nst = len(w)
    n_frames = fr.frames_per_stack
    fstart = fr.stack_first[:-1]
    frame_node = agg.frame_node
    # walk all stacks level by level (root first, or leaf first when inverted): no sort of the frames
    act = np.flatnonzero(agg.stack_live & (n_frames > 0))
    path = np.full(nst, -1, np.int64)          # current path id per stack
    ids, parents, depths, names_idx, totals = [], [], [], [], []
    next_id = 0
    threshold = 0.0
    L = 0
    nn = len(agg.nodes.names)
    while len(act):
        s = act
        nd = frame_node[fstart[s] + L] if inverted else frame_node[fstart[s] + n_frames[s] - 1 - L]
        codes, uniq = pd.factorize((path[s] + 1) * nn + nd, sort=False)
        new_ids = next_id + np.arange(len(uniq))
        tot = int_bincount(codes, w[s], len(uniq))
        path[s] = new_ids[codes]
        next_id += len(uniq)
        ids.append(new_ids)
        parents.append(uniq // nn - 1)
        names_idx.append(uniq % nn)
        depths.append(np.full(len(uniq), L))
        totals.append(tot)
        L += 1
        keep = n_frames[s] > L
        if prune_below > 0:
            if L == 1:
                threshold = prune_below * float(np.abs(tot).sum())
            keep &= np.abs(tot)[codes] >= threshold
        act = s[keep]
    if not ids:
        df = pd.DataFrame({"id": [], "parent": [], "depth": [], "name": [], "self": [], "total": []})
    else:
        df = pd.DataFrame({"id": np.concatenate(ids), "parent": np.concatenate(parents),
                           "depth": np.concatenate(depths),
                           "name": agg.nodes.names[np.concatenate(names_idx)].astype(object),
                           "total": np.concatenate(totals)})
        has = agg.stack_live & (n_frames > 0)
        self_ = int_bincount(path[has], w[has], next_id)
        df["self"] = self_
        df = df[["id", "parent", "depth", "name", "self", "total"]]
        df = _depth_first(df) if order == "dfs" else df
    df.attrs.update(unit=agg.unit, total=agg.total, sample_type=agg.sample_type,
                    source=profile.source, inverted=inverted)
    return df


def _depth_first(df: pd.DataFrame) -> pd.DataFrame:
    """Order rows depth-first, siblings by name, and renumber ids to row positions."""
    children: dict[int, list[int]] = {}
    names = df["name"].to_numpy()
    for i, p in zip(df["id"].to_numpy(), df["parent"].to_numpy()):
        children.setdefault(int(p), []).append(int(i))
    order = []
    stack = sorted(children.get(-1, []), key=lambda i: names[i], reverse=True)
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(sorted(children.get(i, []), key=lambda j: names[j], reverse=True))
    out = df.iloc[order].reset_index(drop=True)
    remap = np.full(len(df) + 1, -1, np.int64)
    remap[out["id"].to_numpy()] = np.arange(len(out))
    out["parent"] = np.where(out["parent"].to_numpy() >= 0, remap[out["parent"].to_numpy()], -1)
    out["id"] = np.arange(len(out))
    return out


@checked_options
def sample_stacks(profile: Profile, sample_index=None, *, granularity: str = "functions",
                  filters: Filters | None = None) -> pd.DataFrame:
    """Each distinct stack with its value, largest first (like pprof -traces).

    ``frames`` is leaf first; ``folded`` is root first, ';'-separated.
    """
    agg = aggregate_nodes(profile, sample_index, granularity=granularity, filters=filters)
    fr = agg.frames
    names = agg.nodes.names[agg.frame_node] if len(agg.frame_node) else np.zeros(0, object)
    nst = len(agg.stack_weight)
    per = [[] for _ in range(nst)]
    for s, nm in zip(fr.stack.tolist(), names.tolist()):
        per[s].append(nm)
    # distinct stacks at this granularity may coincide: merge them
    acc: dict[tuple, int] = {}
    for s in np.nonzero(agg.stack_live)[0]:
        key = tuple(per[s])
        acc[key] = acc.get(key, 0) + int(agg.stack_weight[s])
    rows = sorted(acc.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    df = pd.DataFrame({"value": [v for _, v in rows],
                       "depth": [len(k) for k, _ in rows],
                       "frames": [k for k, _ in rows],
                       "folded": [";".join(reversed(k)) for k, _ in rows]})
    df["pct"] = df["value"] * 100.0 / agg.total if agg.total else 0.0
    df.attrs.update(unit=agg.unit, total=agg.total, source=profile.source)
    return df
