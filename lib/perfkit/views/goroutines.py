"""Goroutine profiles: how many goroutines, and where they are."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .nodes import package_of
from .tree import sample_stacks

# frames that say *how* a goroutine waits, not *where* in the program
_PLUMBING = ("runtime", "internal/poll", "sync", "syscall", "internal/")


def _is_plumbing(name: str) -> bool:
    pkg = package_of(name)
    return pkg.startswith(_PLUMBING) or pkg in ("sync/atomic",)


@checked_options
def goroutine_groups(profile: Profile, *, by: str = "leaf", filters: Filters | None = None) -> pd.DataFrame:
    """Goroutine counts grouped by ``leaf`` (top function), ``stack`` (full stack)
    or ``where`` (first frame outside the runtime/poll/sync plumbing)."""
    if by not in ("leaf", "stack", "where"):
        raise OptionError(profile.source, f"by must be 'leaf', 'stack' or 'where', not {by!r}")
    if profile.sample_types[profile.sample_index(None)].type != "goroutine":
        raise OptionError(profile.source, "not a goroutine profile")
    tr = sample_stacks(profile, filters=filters)
    if by == "stack":
        keys = tr["folded"]
    elif by == "leaf":
        keys = tr["frames"].map(lambda f: f[0] if f else "<no stack>")
    else:
        keys = tr["frames"].map(lambda f: next((x for x in f if not _is_plumbing(x)), f[-1] if f else "<no stack>"))
    df = pd.DataFrame({by: keys, "goroutines": tr["value"]})
    df = df.groupby(by, sort=False)["goroutines"].sum().reset_index()
    df = df.sort_values(["goroutines", by], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    total = int(profile.total(None))
    df["pct"] = df["goroutines"] * 100.0 / total if total else np.nan
    df.attrs.update(total=total, source=profile.source)
    return df
