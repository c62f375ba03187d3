"""Shared aggregation behind top, peek, edges and call graphs.

pprof semantics: samples whose selected value is zero are skipped; a node
counts once per sample in cum (recursion), flat goes to the leaf frame; an
edge counts once per sample, self-edges are skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..model.filter import Filters, apply_filters, checked_options
from ..model.profile import FrameLines, Profile, int_bincount
from .nodes import NodeTable, node_table


@dataclass
class Aggregation:
    profile: Profile
    column: int
    total: int
    nodes: NodeTable
    frames: FrameLines
    frame_node: np.ndarray
    stack_weight: np.ndarray
    stack_live: np.ndarray

    @property
    def unit(self) -> str:
        return self.profile.sample_types[self.column].unit

    @property
    def sample_type(self) -> str:
        return self.profile.sample_types[self.column].type

    @cached_property
    def _live_frames(self) -> np.ndarray:
        return self.stack_live[self.frames.stack]

    @cached_property
    def node_flat_cum(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """flat, cum and presence per node."""
        n = len(self.nodes.names)
        w = self.stack_weight
        leaf_frame, leaf_stack = self.frames.leaf
        keep = self.stack_live[leaf_stack]
        flat = int_bincount(np.take(self.frame_node, leaf_frame[keep]), np.take(w, leaf_stack[keep]), n)
        if self.stack_live.all():
            st, nd = self.frames.stack, self.frame_node
            frames_per_stack = self.frames.frames_per_stack
        else:
            live = self._live_frames
            st, nd = self.frames.stack[live], self.frame_node[live]
            frames_per_stack = np.bincount(st, minlength=len(w))
        # a node counts once per stack: every frame's stack weight, less the repeats of a node within a
        # stack (recursion). Frames come grouped by stack, so (stack, node) keys are sorted but for the
        # order inside each stack, which a stable sort puts right quickly; a repeat equals its neighbour
        cum = int_bincount(nd, np.repeat(w, frames_per_stack), n)
        kt = np.uint32 if len(w) * max(n, 1) < 2**32 else np.uint64
        key = st.astype(kt)
        key *= kt(max(n, 1))
        key += nd.astype(kt)
        key = np.sort(key, kind="stable")
        rep = key[1:][key[1:] == key[:-1]]
        del key
        if len(rep):
            cum -= int_bincount((rep % kt(max(n, 1))).astype(np.int64),
                                np.take(w, (rep // kt(max(n, 1))).astype(np.int64)), n)
        present = np.bincount(nd, minlength=n) > 0
        return flat, cum, present

    def edges(self) -> pd.DataFrame:
        """caller -> callee edges: weight (once per sample) and inline flag."""
        fr = self.frames
        live = self._live_frames
        # a frame's caller is the next frame (depth + 1) of the same stack
        same = (fr.stack[1:] == fr.stack[:-1]) & live[:-1]
        callee = self.frame_node[:-1][same]
        caller = self.frame_node[1:][same]
        stack = fr.stack[:-1][same]
        inline = fr.inline[:-1][same]
        keep = caller != callee
        callee, caller, stack, inline = callee[keep], caller[keep], stack[keep], inline[keep]
        df = pd.DataFrame({"stack": stack, "caller": caller, "callee": callee, "inline": inline})
        # an edge counts once per stack; it is inline only if every occurrence is
        per_stack = df.groupby(["stack", "caller", "callee"], sort=False)["inline"].all().reset_index()
        per_stack["weight"] = self.stack_weight[per_stack["stack"].to_numpy()]
        e = per_stack.groupby(["caller", "callee"], sort=False).agg(weight=("weight", "sum"),
                                                                    inline=("inline", "all")).reset_index()
        names = self.nodes.names
        e.insert(0, "caller_name", names[e["caller"].to_numpy()] if len(e) else np.zeros(0, object))
        e.insert(1, "callee_name", names[e["callee"].to_numpy()] if len(e) else np.zeros(0, object))
        return e


@checked_options
def aggregate_nodes(profile: Profile, sample_index=None, *, granularity: str = "functions",
                    total: int | None = None, filters: Filters | None = None) -> Aggregation:
    """Filtered samples as graph nodes; ``total`` (default: the unfiltered total) is the percentage base."""
    col = profile.sample_index(sample_index)
    if total is None:
        total = profile.total(col)
    p = apply_filters(profile, filters)
    nodes = node_table(p, granularity)
    st = p.stacks
    w, live = st.weights(col)
    frames = st.frame_lines()
    return Aggregation(p, col, int(total), nodes, frames, nodes.of_frames(frames), w, live)
