"""Capacity search: step the offered load up until p99 exceeds a threshold or errors appear."""
from __future__ import annotations

import pandas as pd

from .load import run_load


def capacity_search(target: str, *, steps=(5, 10, 20, 40, 80), step_seconds: float = 5, p99_ms: float = 50,
                    workers: int = 0, max_steps: int = 10):
    """Returns (DataFrame one row per step, knee dict: the last step within the threshold)."""
    rows = []
    for users in list(steps)[:max_steps]:
        r = run_load(target, users=users, spawn_rate=max(users, 1), duration=step_seconds, workers=workers)
        s = r.summary()
        rows.append({"users": users, **s})
        if s["p99_ms"] > p99_ms or s["failures"]:
            break
    df = pd.DataFrame(rows)
    ok = df[(df["p99_ms"] <= p99_ms) & (df["failures"] == 0)]
    knee = ok.iloc[-1].to_dict() if len(ok) else {}
    return df, {"threshold_p99_ms": p99_ms, "knee": knee, "saturated": len(ok) < len(df)}
