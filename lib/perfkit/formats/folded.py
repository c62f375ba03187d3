"""Brendan Gregg's folded stacks: 'root;caller;leaf value' per line."""
from __future__ import annotations

import os

from ..model.profile import Profile
from ..views.tree import traces


def to_folded(profile: Profile, sample_index=None, granularity: str = "functions", **filters) -> str:
    tr = traces(profile, sample_index, granularity, **filters)
    lines = []
    for folded, value in zip(tr["folded"], tr["value"]):
        # ';' separates frames and the last space separates the count: keep names clean
        name = folded.replace("\n", " ") if folded else "[no stack]"
        lines.append(f"{name} {value}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_folded(profile: Profile, path: str | os.PathLike, **kw):
    from ..fileio import write_text
    return write_text(path, to_folded(profile, **kw))
