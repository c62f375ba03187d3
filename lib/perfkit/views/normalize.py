"""Values per second of profile duration, and CPU time as cores used."""
from __future__ import annotations

import pandas as pd

from ..errors import OptionError
from ..model.profile import Profile


def _seconds(p: Profile) -> float:
    if p.duration_nanos <= 0:
        raise OptionError(p.source, "the profile records no duration; per-second values are undefined")
    return p.duration_nanos / 1e9


def per_second(df: pd.DataFrame, profile: Profile, columns=("flat", "cum")) -> pd.DataFrame:
    """Copy of a view with value columns divided by the profile's duration."""
    out = df.copy()
    s = _seconds(profile)
    for c in columns:
        if c in out:
            out[c] = out[c] / s
    unit = df.attrs.get("unit", "")
    out.attrs = {**df.attrs, "unit": "cores" if unit == "nanoseconds" else f"{unit}/s"}
    return out


def cores_used(profile: Profile, sample_index="cpu") -> float:
    """CPU time divided by wall duration: 1.0 means one core busy all the time."""
    col = profile.sample_index(sample_index)
    if profile.sample_types[col].unit != "nanoseconds":
        raise OptionError(profile.source, f"sample type {profile.sample_types[col]} is not CPU time")
    return profile.total(col) / (_seconds(profile) * 1e9)
