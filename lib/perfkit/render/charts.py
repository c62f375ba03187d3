"""Static comparison charts (matplotlib): subsystems, deltas, goroutines, heap.

Every function returns a :class:`perfkit.render.flame_static.StaticFigure`
(renders inline as PNG, ``save_figure(fig, "x.svg")`` writes it). The numbers
drawn are attached as ``fig.perfkit_data`` (a DataFrame).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from ..style import DIFF_SCALE, SERIES_COLORS, cores, format_value, per_second_unit, value_label
from ..views.diff import diff
from ..views.goroutines import goroutine_groups
from ..views.subsystems import as_subsystems, subsystem_breakdown
from ..views.top import top
from .flame_static import StaticFigure, new_figure


def _short(name: str, n: int = 60) -> str:
    """Keep the informative tail of long Go symbols."""
    name = str(name)
    return name if len(name) <= n else "…" + name[-(n - 1):]


def _value_formatter(unit: str):
    """Tick labels in ``unit`` (perfkit.style.format_value); cores as bare numbers."""
    if unit == "cores":
        return lambda v, _: f"{v:.2g}"
    return lambda v, _: format_value(v, unit)


def _index_for(sample_index, label):
    if isinstance(sample_index, dict):
        return sample_index.get(label)
    return sample_index


@checked_options
def subsystem_bars(profiles: dict[str, Profile], sample_index=None, *, mapping=None, by: str = "stack",
                   per_second: bool = True, filters: Filters | None = None) -> StaticFigure:
    """One stacked bar per profile, one segment per subsystem (PALETTE colours).

    Unmatched frames count as "other" (never dropped), so each bar sums to
    the profile's total; ``per_second`` divides by the profile's duration
    (CPU time then reads as cores used).
    """
    if not profiles:
        raise OptionError("<profiles>", "no profiles to compare")
    subs = as_subsystems(mapping)
    rows = []
    units = set()
    for label, p in profiles.items():
        si = _index_for(sample_index, label)
        df = subsystem_breakdown(p, si, mapping=subs, by=by, per_second=per_second, filters=filters)
        unit = df.attrs["unit"]
        if per_second:
            shown_unit = per_second_unit(unit)
            vals = df["per_second"].to_numpy(float)
            vals = cores(vals) if shown_unit == "cores" else vals
        else:
            shown_unit = unit
            vals = df["value"].to_numpy(float)
        units.add(shown_unit)
        for s, v, raw, pct in zip(df["subsystem"], vals, df["value"], df["pct"]):
            rows.append({"profile": label, "subsystem": s, "value": v, "raw": raw, "pct": pct,
                         "unit": shown_unit, "total": df.attrs["total"]})
    data = pd.DataFrame(rows)
    labels = list(profiles)
    present = [s for s in subs.names if (data.loc[data.subsystem == s, "value"].abs() > 0).any()]
    fig = new_figure(max(6.0, 1.6 * len(labels) + 4.5), 5.5)
    ax = fig.add_axes((0.1, 0.1, 0.58, 0.8))
    bottoms = np.zeros(len(labels))
    for s in present:
        v = np.array([data.loc[(data.profile == lab) & (data.subsystem == s), "value"].sum() for lab in labels])
        bars = ax.bar(labels, v, bottom=bottoms, color=subs.color(s), edgecolor="white", linewidth=0.5, label=s,
                      width=0.6)
        for b in bars:
            b.set_gid(f"segment-{s}")
        for i, (val, bot) in enumerate(zip(v, bottoms)):
            tot = data.loc[data.profile == labels[i], "value"].sum()
            if tot and val / tot >= 0.06:
                ax.text(i, bot + val / 2, f"{val / tot * 100:.0f}%", ha="center", va="center", fontsize=7)
        bottoms = bottoms + v
    unit = units.pop() if len(units) == 1 else ""
    fmt = _value_formatter(unit)
    for i, tot in enumerate(bottoms):
        ax.text(i, tot, format_value(tot, unit), ha="center", va="bottom", fontsize=8)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_ylabel(value_label(unit))
    what = "per second" if per_second else "total"
    ax.set_title(f"subsystem breakdown ({what}, by {by})", fontsize=10, loc="left")
    handles = [Patch(facecolor=subs.color(s), label=s) for s in reversed(present)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    data.attrs.update(unit=unit, by=by, per_second=per_second)
    fig.perfkit_data = data
    return fig


@checked_options
def delta_bars(base: Profile, target: Profile, sample_index=None, *, n: int = 20, by: str = "cum",
               filters: Filters | None = None) -> StaticFigure:
    """Top-n functions by |delta| per second, as diverging horizontal bars.

    Red grew, blue shrank; rows whose delta lies within the ~95 % sampling
    interval are grey and hatched; error bars show that interval.
    """
    if by not in ("cum", "flat"):
        raise OptionError(target.source, f"by must be 'cum' or 'flat', not {by!r}")
    d = diff(base, target, sample_index, normalize="per_second", filters=filters)
    raw_unit = d.attrs["unit"][:-2] if d.attrs["unit"].endswith("/s") else d.attrs["unit"]
    unit = per_second_unit(raw_unit)
    col = f"{by}_delta"
    d = d.assign(_a=d[col].abs()).sort_values(["_a", "name"], ascending=[False, True], kind="mergesort")
    d = d.head(n).drop(columns="_a").reset_index(drop=True)
    delta = d[col].to_numpy(float)
    ci = d[f"{by}_delta_ci95"].to_numpy(float)
    if unit == "cores":
        delta, ci = cores(delta), cores(ci)
    noise = d[f"{by}_noise"].fillna(False).to_numpy(bool)
    colors = [DIFF_SCALE.sign_color(v, nz) for v, nz in zip(delta, noise)]
    fig = new_figure(11, max(3.0, 0.32 * len(d) + 1.6))
    ax = fig.add_axes((0.42, 0.1, 0.55, 0.8))
    y = np.arange(len(d))
    bars = ax.barh(y, delta, color=colors, edgecolor="black", linewidth=0.3,
                   xerr=np.where(np.isnan(ci), 0, ci), error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#444"})
    for b, nz in zip(bars, noise):
        if nz:
            b.set_hatch("///")
    ax.set_yticks(y, [_short(x) for x in d["name"]], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(_value_formatter(unit if unit == "cores" else raw_unit))
    ax.set_xlabel(f"{by} delta per second ({unit})")
    ax.set_title(f"top {len(d)} functions by {by} delta per second: "
                 f"{base.source.split('/')[-2] if '/' in base.source else base.source} → "
                 f"{target.source.split('/')[-2] if '/' in target.source else target.source}",
                 fontsize=10, loc="left")
    handles = [Patch(facecolor=DIFF_SCALE.sign_color(1), label="grew"),
               Patch(facecolor=DIFF_SCALE.sign_color(-1), label="shrank"),
               Patch(facecolor=DIFF_SCALE.noise, hatch="///", label="within 95% sampling noise")]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    data = pd.DataFrame({"name": d["name"], "delta": delta, "ci95": ci, "noise": noise, "color": colors})
    data.attrs.update(unit=unit, by=by)
    fig.perfkit_data = data
    return fig


@checked_options
def goroutines_side_by_side(profiles: dict[str, Profile], *, by: str = "where", n: int = 15,
                            filters: Filters | None = None) -> StaticFigure:
    """Goroutine counts per group (``by``: where / leaf / stack), grouped bars per profile.

    The n groups with the largest count in any profile are drawn, the same
    order for every profile.
    """
    if not profiles:
        raise OptionError("<profiles>", "no profiles to compare")
    sums = {lab: goroutine_groups(p, by=by, filters=filters) for lab, p in profiles.items()}
    wide = pd.concat({lab: s.set_index(by)["goroutines"] for lab, s in sums.items()}, axis=1).fillna(0)
    wide = wide.astype(np.int64)
    wide["_max"] = wide.max(axis=1)
    wide = wide.reset_index().sort_values(["_max", by], ascending=[False, True], kind="mergesort").head(n)
    wide = wide.drop(columns="_max").set_index(by)
    labels = list(profiles)
    fig = new_figure(12, max(3.0, 0.22 * len(wide) * max(1, len(labels)) + 1.8))
    ax = fig.add_axes((0.4, 0.1, 0.57, 0.8))
    y = np.arange(len(wide))
    h = 0.8 / len(labels)
    for k, lab in enumerate(labels):
        v = wide[lab].to_numpy()
        ax.barh(y + (k - (len(labels) - 1) / 2) * h, v, height=h, color=SERIES_COLORS[k % len(SERIES_COLORS)],
                label=f"{lab} ({sums[lab].attrs['total']:,} goroutines)")
        for yi, vi in zip(y, v):
            ax.text(vi, yi + (k - (len(labels) - 1) / 2) * h, f" {vi:,}", va="center", fontsize=6.5)
    ax.set_yticks(y, [_short(x) for x in wide.index], fontsize=8)
    ax.invert_yaxis()
    if len(wide) and wide.to_numpy().max() / max(1, wide.to_numpy()[wide.to_numpy() > 0].min()) > 100:
        ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("goroutines")
    ax.set_title(f"goroutines by {by} (top {len(wide)})", fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    data = wide.reset_index()
    data.attrs.update(by=by, totals={lab: s.attrs["total"] for lab, s in sums.items()})
    fig.perfkit_data = data
    return fig


@checked_options
def heap_side_by_side(profiles: dict[str, Profile], sample_index="inuse_space", *, n: int = 15,
                      filters: Filters | None = None) -> StaticFigure:
    """Top-n functions by flat value, one panel per profile, same function order.

    ``sample_index`` is one name for all profiles or a dict label -> name, e.g.
    ``{"heap": "inuse_space", "allocs": "alloc_space"}``. Functions are ranked
    by their largest share of any profile's total.
    """
    if not profiles:
        raise OptionError("<profiles>", "no profiles to compare")
    tops, meta = {}, {}
    for lab, p in profiles.items():
        si = _index_for(sample_index, lab)
        t = top(p, si, filters=filters)
        tops[lab] = t.set_index("name")["flat"]
        meta[lab] = (t.attrs["unit"], t.attrs["sample_type"], t.attrs["total"])
    share = pd.concat({lab: s / (meta[lab][2] or 1) for lab, s in tops.items()}, axis=1).fillna(0)
    share["_max"] = share.abs().max(axis=1)
    order = share.reset_index().sort_values(["_max", "name"], ascending=[False, True],
                                            kind="mergesort").head(n)["name"].tolist()
    labels = list(profiles)
    fig = new_figure(5.0 + 4.0 * len(labels), max(3.0, 0.3 * len(order) + 1.6))
    left, right = 0.3 if len(labels) > 1 else 0.45, 0.98
    span = (right - left) / len(labels)
    rows = []
    for k, lab in enumerate(labels):
        ax = fig.add_axes((left + k * span + 0.01, 0.1, span - 0.03, 0.8))
        unit, stype, total = meta[lab]
        v = tops[lab].reindex(order).fillna(0).to_numpy(float)
        y = np.arange(len(order))
        ax.barh(y, v, color=SERIES_COLORS[0] if "inuse" in stype else SERIES_COLORS[1])
        for yi, vi in zip(y, v):
            if vi:
                ax.text(vi, yi, " " + format_value(vi, unit), va="center", fontsize=6.5)
        if k == 0:
            ax.set_yticks(y, [_short(x, 55) for x in order], fontsize=8)
        else:
            ax.set_yticks(y, [""] * len(order))
        if order:
            ax.set_ylim(len(order) - 0.5, -0.5)
        else:                       # profiles with no samples: say so instead of an empty, singular axis
            ax.text(0.5, 0.5, "no samples", transform=ax.transAxes, ha="center", va="center", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(_value_formatter(unit))
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(f"{lab}: {stype} (total {format_value(total, unit)})", fontsize=9, loc="left")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        rows += [{"profile": lab, "name": nm, "flat": vi, "unit": unit, "sample_type": stype}
                 for nm, vi in zip(order, v)]
    data = pd.DataFrame(rows)
    data.attrs.update(order=order)
    fig.perfkit_data = data
    return fig


__all__ = ["subsystem_bars", "delta_bars", "goroutines_side_by_side", "heap_side_by_side"]
