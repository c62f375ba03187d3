"""One chart per chaos experiment: what clients saw over time, and the verdict."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .flame_static import new_figure


def chaos_chart(frame: pd.DataFrame, verdict: dict):
    """Request-level frames: latency of every request over time (failures marked) and
    failures per 100 ms; gauge frames (soak): active games and heap over time."""
    title = f"{verdict['experiment']}: {'PASSED' if verdict['passed'] else 'FAILED'}"
    fig = new_figure(12, 3.6)
    if frame is None or frame.empty:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no data", ha="center", va="center")
        ax.set_title(title)
        return fig
    if "games_active" in frame:
        ax = fig.subplots()
        ax.plot(frame["t_s"], frame["games_active"], "o-", color="C2", label="active games")
        ax.set_xlabel("seconds")
        ax.set_ylabel("games")
        ax2 = ax.twinx()
        ax2.plot(frame["t_s"], frame["heap_inuse_bytes"] / 2**20, "s--", color="C5", label="heap in use (MiB)")
        ax2.set_ylabel("MiB")
        fig.legend(loc="upper left", fontsize=8)
    else:
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
        t0 = frame["t"].min()
        t = frame["t"] - t0
        phases = frame["phase"] if "phase" in frame else pd.Series(["run"] * len(frame), index=frame.index)
        for i, (ph, grp) in enumerate(frame.groupby(phases, sort=False)):
            ok = grp["ok"].astype(bool)
            ax.scatter(t[grp.index][ok], grp["latency_s"][ok] * 1e3, s=3, color=f"C{i}", label=f"{ph} ok")
            if (~ok).any():
                ax.scatter(t[grp.index][~ok], grp["latency_s"][~ok] * 1e3, s=12, marker="x", color="C3",
                           label=f"{ph} failed")
        ax.set_yscale("log")
        ax.set_xlabel("seconds")
        ax.set_ylabel("latency (ms)")
        ax.legend(fontsize=7, markerscale=3)
        bins = np.arange(0, float(t.max()) + 0.1, 0.1)
        fails = np.histogram(t[~frame["ok"].astype(bool)], bins=bins)[0] if len(bins) > 1 else []
        ax2.plot(bins[:-1], fails, color="C3")
        ax2.set_title("failures per 100 ms", fontsize=9)
        ax2.set_xlabel("seconds")
    fig.suptitle(title + "\n" + verdict["expectation"], fontsize=9)
    fig.tight_layout()
    return fig
