"""Many short single-line labels as one matplotlib artist.

A flame graph carries hundreds of labels. Drawn as ``Text`` artists, each one goes through matplotlib's text
layout and renders its glyphs one FreeType call at a time: about 1 ms per label. :class:`LabelLayer` draws them
all at once. On a raster (Agg) canvas it rasterises each distinct character once, places the cached glyphs on
whole pixels, and composites every label in a single image. Vector backends (SVG, PDF) get real text: one
``draw_text`` per label, grouped under its gid, so an SVG stays searchable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.colors import to_rgba
from matplotlib.transforms import Bbox


class LabelLayer(Artist):
    """Left-aligned labels, vertically centred on their points, clipped to the axes.

    ``x`` (axes fraction) and ``y`` (data) place each label's left edge and centre line; ``gids`` name each
    label's group in SVG output.
    """

    zorder = 3

    def __init__(self, ax, x, y, texts, gids, *, fontsize: float, color="black"):
        super().__init__()
        self.axes = ax
        self.figure = ax.figure
        self.x = np.asarray(x, float)
        self.y = np.asarray(y, float)
        self.texts = [str(t) for t in texts]
        self.gids = [str(g) for g in gids]
        self.prop = FontProperties(size=fontsize)
        self.color = color
        self.set_in_layout(False)

    @property
    def labels(self) -> dict[str, str]:
        """gid -> text of every label."""
        return dict(zip(self.gids, self.texts))

    def get_window_extent(self, renderer=None):
        return Bbox.null()

    def _anchors(self):
        """Display coordinates (pixels, y up) of each label's left edge and centre line."""
        ax = self.axes
        xs = ax.transAxes.transform(np.column_stack([self.x, np.zeros(len(self.x))]))[:, 0]
        ys = ax.transData.transform(np.column_stack([np.zeros(len(self.y)), self.y]))[:, 1]
        return xs, ys

    def _font(self, dpi):
        font = get_font(findfont(self.prop))
        font.set_size(self.prop.get_size_in_points(), dpi)
        return font

    def extents(self, renderer) -> pd.DataFrame:
        """Where each label's ink lands on a raster canvas: left, right (pixels)."""
        font = self._font(renderer.dpi)
        glyphs = _Glyphs(font)
        xs, _ = self._anchors()
        rows = []
        for x0, s in zip(xs, self.texts):
            left, right = None, None
            for col, g in glyphs.placed(s, x0):
                if g.image.size:
                    a, b = col, col + g.image.shape[1]
                    left = a if left is None else min(left, a)
                    right = b if right is None else max(right, b)
            rows.append((s, left if left is not None else x0, right if right is not None else x0))
        return pd.DataFrame(rows, columns=["text", "left", "right"])

    def draw(self, renderer):
        if not self.get_visible() or not self.texts:
            return
        if isinstance(renderer, RendererAgg):
            self._draw_raster(renderer)
        else:
            self._draw_vector(renderer)
        self.stale = False

    def _centre_to_baseline(self, renderer) -> float:
        """Offset (pixels, up) from a label's centre line to its baseline: the middle of an "lp" line box, as
        matplotlib's ``va="center"`` places one line."""
        _, h, d = renderer.get_text_width_height_descent("lp", self.prop, False)
        return -h / 2 + d

    def _draw_vector(self, renderer):
        xs, ys = self._anchors()
        off = self._centre_to_baseline(renderer)
        gc = renderer.new_gc()
        gc.set_foreground(self.color)
        gc.set_clip_rectangle(self.axes.bbox)
        canvas_h = renderer.get_canvas_width_height()[1]
        for x0, y0, s, gid in zip(xs, ys, self.texts, self.gids):
            y = canvas_h - (y0 + off) if renderer.flipy() else y0 + off     # as Text.draw passes it
            renderer.open_group("text", gid)
            renderer.draw_text(gc, x0, y, s, self.prop, 0.0)
            renderer.close_group("text")
        gc.restore()

    def _draw_raster(self, renderer):
        box = self.axes.bbox
        x_lo, x_hi = int(np.floor(box.x0)), int(np.ceil(box.x1))
        y_lo, y_hi = int(np.floor(box.y0)), int(np.ceil(box.y1))
        width, height = x_hi - x_lo, y_hi - y_lo
        if width <= 0 or height <= 0:
            return
        font = self._font(renderer.dpi)
        off = self._centre_to_baseline(renderer)
        glyphs = _Glyphs(font)
        xs, ys = self._anchors()
        ink = np.zeros((height, width), np.uint8)     # row 0 = top of the axes
        for x0, y0, s in zip(xs, ys, self.texts):
            base = y_hi - int(round(y0 + off))            # baseline, in rows from the top
            for col, g in glyphs.placed(s, x0):
                h, w = g.image.shape
                if not h:
                    continue
                r1 = base + g.below
                r0, c0 = r1 - h, col - x_lo
                rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, height), max(c0, 0), min(c0 + w, width)
                if rr0 >= rr1 or cc0 >= cc1:
                    continue
                dst = ink[rr0:rr1, cc0:cc1]
                np.maximum(dst, g.image[rr0 - r0:rr1 - r0, cc0 - c0:cc1 - c0], out=dst)
        r, gr, b, a = (np.array(to_rgba(self.color)) * 255).round().astype(np.uint8)
        rgba = np.empty((height, width, 4), np.uint8)
        rgba[..., 0], rgba[..., 1], rgba[..., 2] = r, gr, b
        rgba[..., 3] = (ink.astype(np.uint16) * int(a) // 255).astype(np.uint8)
        gc = renderer.new_gc()
        gc.set_clip_rectangle(box)
        renderer.draw_image(gc, x_lo, y_lo, rgba[::-1])
        gc.restore()


@dataclass(frozen=True, slots=True)
class _Glyph:
    image: np.ndarray      # alpha, rows top down
    left: int              # image column 0, relative to the pen
    below: int             # image rows below the baseline
    advance: float         # pen advance, pixels


class _Glyphs:
    """Each character rasterised once (antialiased, hinted as matplotlib hints), placed on whole pixels."""

    def __init__(self, font):
        self.font = font
        self.cache: dict[str, _Glyph] = {}

    def glyph(self, ch: str) -> _Glyph:
        g = self.cache.get(ch)
        if g is None:
            f, flags = self.font, get_hinting_flag()
            f.set_text(ch, 0.0, flags=flags)
            f.draw_glyphs_to_bitmap(antialiased=True)
            image = np.array(f.get_image(), np.uint8)
            xo, _ = f.get_bitmap_offset()
            below = int(round(f.get_descent() / 64.0)) + 1     # image rows below the baseline
            advance = f.load_char(ord(ch), flags=flags).horiAdvance / 64.0
            g = self.cache[ch] = _Glyph(image, int(np.floor(xo / 64.0)), below, advance)
        return g

    def placed(self, s: str, x0: float):
        """(column of the glyph image's left edge, glyph) for each character of ``s``, the pen starting at ``x0``
        pixels."""
        pen = float(x0)
        for ch in s:
            g = self.glyph(ch)
            yield int(round(pen)) + g.left, g
            pen += g.advance
