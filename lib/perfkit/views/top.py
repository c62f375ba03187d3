"""`top`: flat and cumulative value per node, as `go tool pprof -top`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .aggregate import Aggregation, aggregate_nodes

TOP_COLUMNS = ["name", "flat", "flat_pct", "sum_pct", "cum", "cum_pct"]


def _percent_of(x: np.ndarray, total: int) -> np.ndarray:
    return x * 100.0 / total if total else np.zeros(len(x))


def _top_table(agg: Aggregation) -> pd.DataFrame:
    flat, cum, present = agg.node_flat_cum
    idx = np.nonzero(present)[0]
    df = pd.DataFrame({"name": agg.nodes.names[idx].astype(object), "flat": flat[idx], "cum": cum[idx]})
    # pprof's order: |flat| desc, name asc, |cum| desc
    df["_af"] = -np.abs(df["flat"].to_numpy())
    df["_ac"] = -np.abs(df["cum"].to_numpy())
    df = df.sort_values(["_af", "name", "_ac"], kind="mergesort").drop(columns=["_af", "_ac"])
    df = df.reset_index(drop=True)
    t = agg.total
    df["flat_pct"] = _percent_of(df["flat"].to_numpy(), t)
    df["sum_pct"] = np.cumsum(df["flat_pct"].to_numpy())
    df["cum_pct"] = _percent_of(df["cum"].to_numpy(), t)
    df = df[TOP_COLUMNS]
    df.attrs.update(unit=agg.unit, sample_type=agg.sample_type, total=t, source=agg.profile.source)
    return df


@checked_options
def top(profile: Profile, sample_index=None, *, granularity: str = "functions",
        nodecount: int | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """Rows like `go tool pprof -top`: name, flat, flat_pct, sum_pct, cum, cum_pct.

    flat/cum are raw integers in the sample type's unit (see ``df.attrs``).
    """
    df = _top_table(aggregate_nodes(profile, sample_index, granularity=granularity, filters=filters))
    return df.head(nodecount) if nodecount else df
