"""Static (matplotlib) flame graphs, plain and differential.

Every function returns a :class:`StaticFigure`: a ``matplotlib.figure.Figure``
that is not registered with pyplot (no double rendering in notebooks, no
leaked figures), renders inline as PNG (``_repr_png_``) and is written to
png/svg/pdf with :func:`save_figure` or ``fig.save(path)``.

x is the fraction of the graph's total (0..1), so a frame's rectangle width
in axes coordinates equals ``row.total / grand_total``. The layout that was
drawn is attached as ``fig.perfkit_data`` (a DataFrame with the layout rows
plus x0, y0, w, color and label: the text drawn, "" when the frame is too
narrow for a readable label).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context, rcParams
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import OptionError
from ..fileio import write_bytes
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from ..style import DIFF_SCALE, format_rate, format_value, relative_delta
from ..views.flame import diff_flame_layout, flame_layout
from ..views.subsystems import as_subsystems
from .labels import LabelLayer

FORMATS = ("png", "svg", "pdf")
ROW_INCHES = 0.22          # height of one stack level
FONT_SIZE = 7.5            # points
CHAR_WIDTH = 0.6           # average glyph width, in font sizes (DejaVu Sans ~0.55-0.62)
MIN_LABEL_CHARS = 4        # fewer characters than this: no label at all


class StaticFigure(Figure):
    """A matplotlib Figure that renders inline as PNG and saves atomically."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        Figure.savefig(self, buf, format="png", bbox_inches=_png_bbox(self, None))
        return buf.getvalue()

    def savefig(self, fname, *args, **kwargs):
        # text stays text in SVG: searchable, selectable, smaller
        with rc_context({"svg.fonttype": "none"}):
            return super().savefig(fname, *args, **kwargs)

    def save(self, path, *, overwrite: bool = True, dpi=None) -> Path:
        return save_figure(self, path, overwrite=overwrite, dpi=dpi)


def new_figure(width: float, height: float, dpi: float = 100) -> StaticFigure:
    """A figure outside pyplot's registry (closed by garbage collection)."""
    return StaticFigure(figsize=(width, height), dpi=dpi)


def save_figure(fig: Figure, path: str | os.PathLike, *, overwrite: bool = True, dpi=None) -> Path:
    """Write ``fig`` as png, svg or pdf (by the extension), atomically.

    Refuses a missing output directory (and an existing file when
    ``overwrite=False``); see :func:`perfkit.fileio.write_bytes`.
    """
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise OptionError(p, f"unsupported figure format {p.suffix!r}: use .png, .svg or .pdf")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():          # fail before the (possibly slow) rendering
        from ..errors import PerfkitError
        raise PerfkitError(p, f"output directory {parent} does not exist")
    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):
        kw = {"dpi": dpi} if dpi else {}
        if fmt == "png" and not isinstance(fig, StaticFigure):
            kw.setdefault("dpi", fig.dpi)
        bbox = _png_bbox(fig, kw.get("dpi")) if fmt == "png" else "tight"
        Figure.savefig(fig, buf, format=fmt, bbox_inches=bbox, **kw)
    return write_bytes(p, buf.getvalue(), overwrite=overwrite)


def _png_bbox(fig: Figure, dpi):
    """The tight bounding box (inches) of a PNG at the figure's dpi, without the extra draw that
    ``bbox_inches="tight"`` makes (on a big flame graph, half a second of text layout): Agg's own metrics,
    so the same box. "tight" at any other dpi."""
    if dpi not in (None, fig.dpi):
        return "tight"
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    pad = rcParams["savefig.pad_inches"]
    return fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer()).padded(pad if isinstance(pad, float) else 0.1)


# ---------------------------------------------------------------------------
# drawing helpers


def _fit_label(name: str, px: float, font_px: float) -> str:
    """The label that fits ``px`` pixels: the name, truncated with '…', or ''."""
    n = int((px - 3) // (CHAR_WIDTH * font_px))
    if n < MIN_LABEL_CHARS:
        return ""
    if len(name) <= n:
        return name
    return name[: n - 1] + "…"


def _short_source(source: str) -> str:
    parts = Path(str(source)).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(source)


def _draw_rects(fig: Figure, ax, lay: pd.DataFrame, grand: float, colors, *, icicle: bool,
                width_inches: float, gid_prefix: str = "frame") -> pd.DataFrame:
    """Draw one rectangle per row (a single PolyCollection) plus the labels that fit."""
    n = len(lay)
    x0 = lay["x"].to_numpy(float) / grand if grand else np.zeros(n)
    w = np.abs(lay["width_value"].to_numpy(float)) / grand if grand else np.zeros(n)
    y0 = lay["depth"].to_numpy(float)
    h = 0.95
    verts = np.empty((n, 4, 2))
    verts[:, 0, 0] = x0
    verts[:, 1, 0] = x0 + w
    verts[:, 2, 0] = x0 + w
    verts[:, 3, 0] = x0
    verts[:, 0, 1] = y0
    verts[:, 1, 1] = y0
    verts[:, 2, 1] = y0 + h
    verts[:, 3, 1] = y0 + h
    coll = PolyCollection(verts, facecolors=list(colors), edgecolors="white", linewidths=0.25,
                          antialiaseds=False)
    coll.set_gid(f"{gid_prefix}s")
    ax.add_collection(coll)
    max_depth = int(lay["depth"].max()) if n else 0
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.1, max_depth + 1.05)
    if icicle:
        ax.invert_yaxis()
    # axes width in pixels: labels are estimated from it
    ax_px = ax.get_position().width * width_inches * fig.dpi
    font_px = FONT_SIZE * fig.dpi / 72.0
    labels = np.full(n, "", dtype=object)
    names = lay["name"].to_numpy()
    ids = lay["id"].to_numpy()
    cand = np.nonzero(w * ax_px >= MIN_LABEL_CHARS * CHAR_WIDTH * font_px + 3)[0]
    for i in cand:
        labels[i] = _fit_label(str(names[i]), w[i] * ax_px, font_px)
    shown = cand[labels[cand] != ""]
    layer = LabelLayer(ax, x0[shown] + 1.5 / ax_px, y0[shown] + h / 2, labels[shown],
                       [f"{gid_prefix}-{int(i)}" for i in ids[shown]], fontsize=FONT_SIZE)
    ax.add_artist(layer)
    fig.perfkit_labels = layer
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(lambda v, _: f"{v * 100:.0f}%")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    out = lay.copy()
    out["x0"], out["y0"], out["w"], out["h"] = x0, y0, w, h
    out["color"] = list(colors)
    out["label"] = labels
    fig.perfkit_collection = coll
    return out


def _height(lay: pd.DataFrame) -> float:
    depth = int(lay["depth"].max()) + 1 if len(lay) else 1
    return max(3.0, ROW_INCHES * depth + 1.8)


# ---------------------------------------------------------------------------
# public API


@checked_options
def flame_graph(profile: Profile, sample_index=None, *, min_fraction: float = 0.001, icicle: bool = False,
                subsystems=None, title: str | None = None, width: float = 14,
                filters: Filters | None = None) -> StaticFigure:
    """Static flame graph (roots at the bottom; ``icicle=True``: roots at the top).

    Frames below ``min_fraction`` of the total are merged per parent; colours
    are subsystem categories (``subsystems``: a mapping or
    :class:`perfkit.Subsystems`), with a legend of the subsystems drawn.
    """
    subs = as_subsystems(subsystems)
    lay = flame_layout(profile, sample_index, min_fraction=min_fraction, subsystems=subs, filters=filters)
    grand = float(lay.attrs.get("grand_total", 0) or 0)
    unit = lay.attrs.get("unit", "")
    stype = lay.attrs.get("sample_type", "")
    fig = new_figure(width, _height(lay))
    ax = fig.add_axes((0.02, 0.12, 0.96, 0.80))
    lay = lay.assign(width_value=lay["total"].abs())
    cmap = {s: subs.color(s) for s in lay["subsystem"].unique()}
    colors = [cmap[s] for s in lay["subsystem"]]
    drawn = _draw_rects(fig, ax, lay, grand, colors, icicle=icicle, width_inches=width)
    total_txt = format_value(grand, unit)
    extra = ""
    if unit == "nanoseconds" and profile.duration_nanos > 0:
        extra = (f" ({format_value(grand / profile.duration_nanos, 'cores')} over "
                 f"{format_value(profile.duration_nanos, 'nanoseconds')})")
    head = title or f"{_short_source(profile.source)}: {'icicle' if icicle else 'flame'} graph"
    ax.set_title(f"{head}\n{stype}, total {total_txt}{extra}", fontsize=10, loc="left")
    if not len(lay):
        ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
    seen = set(lay["subsystem"].unique())
    present = [s for s in subs.names if s in seen]
    if present:
        handles = [Patch(facecolor=subs.color(s), edgecolor="none", label=s) for s in present]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.06 if not icicle else -0.04),
                  ncol=min(len(handles), 6), fontsize=8, frameon=False, title="subsystem",
                  title_fontsize=8)
    drawn.attrs.update(lay.attrs, icicle=icicle)
    fig.perfkit_data = drawn
    fig.perfkit_kind = "icicle" if icicle else "flame"
    return fig


def diff_colors(lay: pd.DataFrame, scale=DIFF_SCALE) -> tuple[list[str], np.ndarray]:
    """Colour per diff-layout row (from :data:`perfkit.style.DIFF_SCALE`) and its relative delta in [-1, 1].

    relative delta = delta / max(|base|, |target|): +1 new work, -1 vanished.
    """
    rel = relative_delta(lay["base"], lay["target"], lay["delta"])
    return scale.colors(rel, lay["noise"], lay["only_in"]), rel


@checked_options
def diff_flame_graph(base: Profile, target: Profile, sample_index=None, *, normalize: str = "total",
                     reverse: bool = False, min_fraction: float = 0.001, title: str | None = None,
                     width: float = 14, icicle: bool = False, filters: Filters | None = None) -> StaticFigure:
    """Differential flame graph: widths from the target (from the base when ``reverse``).

    Red = grew, blue = shrank, intensity by the delta relative to the frame
    (after ``normalize``: "total" or "per_second"); grey = within sampling
    noise; purple = only in the target (teal, reverse view: only in the base).
    """
    lay = diff_flame_layout(base, target, sample_index, normalize=normalize, min_fraction=min_fraction,
                            reverse=reverse, filters=filters)
    grand = float(lay.attrs.get("grand_total", 0) or 0)
    unit = lay.attrs.get("unit", "")
    fig = new_figure(width, _height(lay) + 0.4)
    ax = fig.add_axes((0.02, 0.14, 0.85, 0.76))
    colors, rel = diff_colors(lay)
    lay = lay.assign(width_value=lay["width"].abs(), rel_delta=rel)
    drawn = _draw_rects(fig, ax, lay, grand, colors, icicle=icicle, width_inches=width, gid_prefix="frame")
    shape = "base" if reverse else "target"
    norm_txt = {"total": "base scaled to the target's total", "per_second": "per second of each profile",
                None: "raw values"}[normalize]
    shown = format_rate(grand, unit) if normalize == "per_second" else format_value(grand, unit)
    head = title or (f"diff {_short_source(base.source)} → {_short_source(target.source)}"
                     + (" (reverse: what disappeared)" if reverse else ""))
    ax.set_title(f"{head}\nwidths from the {shape} ({shown}); colours: delta relative to the frame, {norm_txt}",
                 fontsize=10, loc="left")
    # colour bar for grew/shrank, legend for the categorical colours
    cax = fig.add_axes((0.89, 0.30, 0.015, 0.55))
    steps = DIFF_SCALE.levels
    shades = ([DIFF_SCALE.step_color(False, k) for k in reversed(range(steps))]
              + [DIFF_SCALE.step_color(True, k) for k in range(steps)])
    sm = ScalarMappable(norm=BoundaryNorm(np.linspace(-100, 100, 2 * steps + 1), 2 * steps),
                        cmap=ListedColormap(shades))
    cb = fig.colorbar(sm, cax=cax)
    cb.set_label("delta / frame (%)  blue: shrank, red: grew", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    only_label = "only in base (gone)" if reverse else "only in target (new)"
    handles = [Patch(facecolor=DIFF_SCALE.only_base if reverse else DIFF_SCALE.only_target, label=only_label),
               Patch(facecolor=DIFF_SCALE.noise, label="within sampling noise / merged")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=8,
              frameon=False)
    drawn.attrs.update(lay.attrs, icicle=icicle)
    fig.perfkit_data = drawn
    fig.perfkit_kind = "diff-reverse" if reverse else "diff"
    return fig


__all__ = ["StaticFigure", "new_figure", "save_figure", "flame_graph", "diff_flame_graph", "diff_colors"]
