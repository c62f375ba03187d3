"""Goroutine profiles: how many goroutines, and where they are."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.frames import wait_site
from ..model.filter import Filters, checked_options
from ..formats.goroutine_text import GOROUTINE_COLUMNS
from ..model.profile import Profile
from .tree import sample_stacks

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
        keys = tr["frames"].map(lambda f: wait_site(f) if f else "<no stack>")
    df = pd.DataFrame({by: keys, "goroutines": tr["value"]})
    df = df.groupby(by, sort=False)["goroutines"].sum().reset_index()
    df = df.sort_values(["goroutines", by], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    total = int(profile.total(None))
    df["pct"] = df["goroutines"] * 100.0 / total if total else np.nan
    df.attrs.update(total=total, source=profile.source)
    return df


def goroutines_frame(profile: Profile) -> pd.DataFrame:
    """A goroutine profile in the dump schema: one row per distinct stack, with its count."""
    if profile.sample_types[profile.sample_index(None)].type != "goroutine":
        raise OptionError(profile.source, "not a goroutine profile")
    tr = sample_stacks(profile)
    n = len(tr)
    return pd.DataFrame({
        "goroutine": pd.array([pd.NA] * n, dtype="Int64"), "state": [""] * n,
        "wait_minutes": np.zeros(n, np.int64), "count": tr["value"].to_numpy(),
        "leaf": tr["frames"].map(lambda f: f[0] if f else ""), "where": tr["frames"].map(wait_site),
        "frames": tr["frames"], "files": [()] * n, "created_by": [""] * n,
        "creator_goroutine": pd.array([pd.NA] * n, dtype="Int64"),
    })[GOROUTINE_COLUMNS]
