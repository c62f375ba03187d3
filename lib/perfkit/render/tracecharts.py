"""Charts of a runtime trace: P lanes over time and busy Ps per millisecond."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..style import SERIES_COLORS
from ..trace import gomaxprocs, p_utilization
from .flame_static import StaticFigure, new_figure


def p_timeline(traces: dict, *, bucket_ms: float = 1.0, max_spans: int = 200_000) -> StaticFigure:
    """For each trace: a lane per P (what ran when) above the busy-P count per bucket.

    ``fig.perfkit_data``: the busy-P counts drawn (columns trace, ms, busy_ps).
    """
    n = len(traces)
    fig = new_figure(14, 3.2 * n + 1)
    axes = fig.subplots(2 * n, 1, gridspec_kw={"height_ratios": [3, 1] * n})
    drawn = []
    for i, (label, t) in enumerate(traces.items()):
        lanes, util = axes[2 * i], axes[2 * i + 1]
        sp = t.tables.p_runs
        if len(sp) > max_spans:
            sp = sp.sample(max_spans, random_state=0)
        gmp = max(gomaxprocs(t), int(sp["p"].max()) + 1 if len(sp) else 1)
        t0 = float(t.ts.min()) if t.n_events else 0.0
        for p, grp in sp.groupby("p"):
            bars = np.column_stack([(grp["start"] - t0) / 1e6, (grp["end"] - grp["start"]) / 1e6])
            lanes.broken_barh(bars, (p - 0.4, 0.8), facecolors=SERIES_COLORS[0], linewidth=0)
        lanes.set_ylim(-0.6, gmp - 0.4)
        lanes.set_ylabel("P")
        lanes.set_title(f"{label}: goroutines running on each of GOMAXPROCS={gomaxprocs(t)} Ps")
        u = p_utilization(t, int(bucket_ms * 1e6))
        util.fill_between(u["ms"], u["busy_ps"], step="post", color=SERIES_COLORS[1])
        drawn.append(pd.DataFrame({"trace": label, "ms": u["ms"].to_numpy(), "busy_ps": u["busy_ps"].to_numpy()}))
        util.set_ylim(0, gmp)
        util.set_ylabel("busy Ps")
        util.set_xlabel("ms since the trace started")
        lanes.sharex(util)
    fig.tight_layout()
    fig.perfkit_data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame(
        columns=["trace", "ms", "busy_ps"])
    return fig
