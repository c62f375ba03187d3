"""Charts of the lab's scenario grid; each returns a perfkit StaticFigure whose ``perfkit_data`` is the
DataFrame drawn."""
from __future__ import annotations

import pandas as pd

from perfkit.render import new_figure
from perfkit.style import SERIES_COLORS

__all__ = ["scenario_chart"]

PANELS = (("server cores", "server CPU (cores, /proc)"), ("handshakes/s", "TLS handshakes/s (server)"),
          ("client p99 ms", "client request p99 (ms)"), ("EOF errors/s", "`TLS handshake error … EOF`/s"))


def scenario_chart(table: pd.DataFrame):
    """Four panels, one bar per scenario (a ``scenario_table``): server CPU, handshakes/s (resumed part
    hatched), client p99 and EOF handshake errors per second."""
    names = list(table.index)
    fig = new_figure(13, 1.2 + 0.28 * len(names) * 2)
    axes = fig.subplots(1, 4, sharey=True)
    y = range(len(names))
    colors = [SERIES_COLORS[{"churn": 3, "resume": 1, "keepalive": 2}.get(n.split(" · ")[0], 0)] for n in names]
    for ax, (col, title) in zip(axes, PANELS):
        vals = table[col].fillna(0)
        ax.barh(list(y), vals, color=colors)
        if col == "handshakes/s":
            ax.barh(list(y), table["resumed handshakes/s"].fillna(0), color="none", edgecolor="black",
                    hatch="///", lw=0)
        if col == "client p99 ms":
            ax.set_xscale("log")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", lw=0.3)
        for i, v in zip(y, vals):
            ax.text(v, i, f" {v:,.3g}", va="center", fontsize=7)
    axes[0].set_yticks(list(y), names, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.perfkit_data = table[[c for c, _ in PANELS] + ["resumed handshakes/s"]]
    return fig
