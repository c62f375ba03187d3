"""Map frames to subsystems (TLS & crypto, math/big, runtime, GC, ...).

A mapping is an ordered list of (subsystem, regexp); the first regexp that
matches a function name wins. Unmatched frames are "other", never dropped.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from ..style import EXTRA_COLORS, OTHER, OTHER_COLOR, SUBSYSTEM_COLORS, cores, is_time_unit
from .aggregate import aggregate_nodes

# order matters: the first match wins (GC and allocation before the rest of the runtime, ...)
DEFAULT_SUBSYSTEMS: list[tuple[str, str]] = [
    ("math/big", r"^math/big\."),
    ("TLS & crypto", r"^(crypto/|vendor/golang\.org/x/crypto/|golang\.org/x/crypto/)"),
    ("GC", r"^runtime\.(gc|markroot|scanobject|scanblock|scanstack|greyobject|findObject|heapBits|"
           r"sweep|bgsweep|bgscavenge|(mark|sweep)\w*|wbBuf|gcWriteBarrier|(\(\*gcWork\)))"
           r"|^runtime\.\(\*(mspan|mheap|gcWork|gcControllerState|sweepLocked|pageAlloc|scavenger\w*)\)"),
    ("memory allocation", r"^runtime\.(mallocgc\w*|newobject|newarray|makeslice\w*|makemap\w*|growslice|"
                          r"rawstring\w*|rawbyteslice|memclrNoHeapPointers|nextFreeFast|"
                          r"\(\*mcache\)|\(\*mcentral\))"),
    ("syscalls & netpoll", r"^(syscall\.|internal/poll\.|net\.|runtime\.(netpoll|kevent|epoll|libcCall|"
                           r"syscall|entersyscall|exitsyscall|read$|write1?$|pthread_|usleep|nanotime|walltime)|"
                           r"golang\.org/x/sys/)"),
    ("database/sql", r"^database/sql"),
    ("HTTP serving & routing", r"^(net/http|net/textproto|mime|net/url|golang\.org/x/net/http2)"),
    ("JSON/encoding", r"^(encoding/|google\.golang\.org/protobuf|github\.com/golang/protobuf|compress/|bufio\.)"),
    ("Go scheduler & runtime", r"^(runtime\.|runtime/|sync\.|sync/atomic|internal/|reflect\.|context\.)"),
    ("application", r"^(main\.|[a-z0-9.-]+\.[a-z]+/)"),
]


class Subsystems:
    """A compiled, ordered subsystem mapping with colours."""

    def __init__(self, mapping: Sequence[tuple[str, str]] | None = None, colors: dict[str, str] | None = None):
        self.mapping = list(DEFAULT_SUBSYSTEMS if mapping is None else mapping)
        self._rx = [(name, re.compile(rx)) for name, rx in self.mapping]
        self.names = list(dict.fromkeys([n for n, _ in self.mapping] + [OTHER]))
        self.colors = {}
        extra = iter(EXTRA_COLORS * 4)
        for n in self.names:
            self.colors[n] = (colors or {}).get(n) or SUBSYSTEM_COLORS.get(n) or next(extra)
        self._cache: dict[str, str] = {}

    def classify(self, name: str) -> str:
        hit = self._cache.get(name)
        if hit is None:
            hit = next((sub for sub, rx in self._rx if rx.search(name)), OTHER)
            self._cache[name] = hit
        return hit

    def classify_many(self, names) -> np.ndarray:
        return np.array([self.classify(str(n)) for n in names], dtype=object)

    def color(self, subsystem: str) -> str:
        return self.colors.get(subsystem, OTHER_COLOR)


def as_subsystems(mapping) -> Subsystems:
    if isinstance(mapping, Subsystems):
        return mapping
    return Subsystems(mapping)


@checked_options
def subsystem_breakdown(profile: Profile, sample_index=None, *, mapping=None, by: str = "leaf",
                        per_second: bool = False, filters: Filters | None = None) -> pd.DataFrame:
    """Value per subsystem.

    by="leaf": each sample goes to the subsystem of its leaf frame (flat; sums
    to the total). by="stack": a sample goes to the first subsystem found from
    the leaf upward that is not the runtime/syscall plumbing, so crypto work
    that ends in a syscall still counts as crypto.
    """
    subs = as_subsystems(mapping)
    agg = aggregate_nodes(profile, sample_index, filters=filters)
    names = agg.nodes.names
    cat_of_node = subs.classify_many(names)
    fr = agg.frames
    live = agg.stack_live
    w = agg.stack_weight
    cats = np.full(len(w), OTHER, dtype=object)
    leafmask = fr.depth == 0
    cats[fr.stack[leafmask]] = cat_of_node[agg.frame_node[leafmask]]
    if by == "stack":
        plumbing = {"Go scheduler & runtime", "syscalls & netpoll", "GC", "memory allocation", OTHER}
        decided = np.zeros(len(w), bool)
        frame_cat = cat_of_node[agg.frame_node]
        for s, c in zip(fr.stack.tolist(), frame_cat.tolist()):
            if not decided[s] and c not in plumbing:
                cats[s] = c
                decided[s] = True
    elif by != "leaf":
        raise OptionError(profile.source, f"by must be 'leaf' or 'stack', not {by!r}")
    df = pd.DataFrame({"subsystem": cats[live], "value": w[live]})
    df = df.groupby("subsystem")["value"].sum().reindex(subs.names, fill_value=0).reset_index()
    total = agg.total
    df["pct"] = df["value"] * 100.0 / total if total else 0.0
    if per_second:
        if profile.duration_nanos <= 0:
            raise OptionError(profile.source, "no duration: cannot normalise per second")
        df["per_second"] = df["value"] / profile.duration_seconds
        if is_time_unit(agg.unit):
            df["cores"] = cores(df["per_second"])
    df["color"] = [subs.color(s) for s in df["subsystem"]]
    df.attrs.update(unit=agg.unit, total=total, source=profile.source, by=by)
    return df
