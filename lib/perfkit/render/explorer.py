"""``perfkit.explore``: an interactive profile explorer in the notebook (the notebook's ``go tool pprof -http``).

Controls for the profile (in an archive), the sample index, the granularity and pprof's focus/ignore/hide/show
regexps; linked views: a sortable top table, an interactive flame graph, and for the selected function its
callers and callees (peek), its hottest source lines when the files exist locally, and a sandwich view.
Everything is computed by perfkit's views; the widgets (ipywidgets, imported on first use) only show it.

DOM hooks (CSS classes on the widgets, used by the browser test): ``pk-explore`` (the whole box),
``pk-explore-kind``, ``pk-explore-sample``, ``pk-explore-granularity``, ``pk-explore-sort``,
``pk-explore-focus`` / ``-ignore`` / ``-hide`` / ``-show`` (text boxes, applied on Enter),
``pk-explore-msg`` (errors such as a bad regexp), ``pk-explore-top`` (the table, ``table.pk-explore-table``
with one ``tr[data-name]`` per row), ``pk-explore-function`` (the selected function), ``pk-explore-peek``
(``tr.pk-peek-caller`` / ``pk-peek-callee`` rows, ``pre.pk-explore-source``), ``pk-explore-flame`` and
``pk-explore-sandwich`` (interactive flame graphs; the latter opens on the selected function's sandwich).
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import fields

import pandas as pd

from ..errors import OptionError, PerfkitError
from ..model.filter import Filters, apply_filters, checked_options
from ..model.profile import Profile
from ..style import format_value
from ..views.graph import peek
from ..views.nodes import GRANULARITIES
from ..views.sandwich import sandwich
from ..views.source import source_lines
from ..views.top import top
from .flame_html import interactive_flame

__all__ = ["Explorer", "explore"]

NAME_FILTERS = ("focus", "ignore", "hide", "show")
SORT_KEYS = {"flat": ("flat", False), "cum": ("cum", False), "name": ("name", True)}

_CSS = (
    "<style>.pk-explore-table{border-collapse:collapse;font:12px ui-monospace,Menlo,Consolas,monospace}"
    ".pk-explore-table td,.pk-explore-table th{padding:1px 6px;text-align:right;white-space:nowrap}"
    ".pk-explore-table td:last-child,.pk-explore-table th:last-child{text-align:left}"
    ".pk-explore-table tr.pk-selected{background:#ffe9a8}"
    ".pk-explore-source{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f7f7f7;padding:4px}"
    ".pk-explore-source b{background:#ffe0d0}.pk-explore-err{color:#b00020;font-weight:600}</style>"
)


def _is_archive(obj) -> bool:
    """A perfkit.DebugArchive (duck-typed: render does not import formats)."""
    return isinstance(getattr(obj, "profiles", None), dict) and hasattr(obj, "__getitem__")


def _as_source(obj):
    if isinstance(obj, Profile) or _is_archive(obj):
        return obj
    hint = (" (load it first: perfkit.load_archive or perfkit.read_profile)"
            if isinstance(obj, (str, os.PathLike)) else "")
    raise OptionError(None, f"explore(): expected a Profile or a DebugArchive, not {type(obj).__name__}{hint}")


def _html_out(html_text: str) -> tuple:
    return ({"output_type": "display_data", "data": {"text/html": html_text}, "metadata": {}},)


class Explorer:
    """The explorer's state and widgets. Display it (last expression of a cell) or use ``.widget``.

    After every change: ``top_frame`` (the table shown), ``selected`` (function), ``peek_frame``,
    ``source_frame`` (perfkit.views.source.source_lines), ``sandwich_frame`` (perfkit.views.sandwich.sandwich),
    ``flame`` and ``sandwich_flame`` (InteractiveFlame), ``message`` ("" or the error shown).
    """

    def __init__(self, source, sample_index=None, *, kind: str | None = None, granularity: str = "functions",
                 filters: Filters | None = None, nodecount: int = 40, source_dirs=(), min_fraction: float = 0.001):
        import ipywidgets as w
        self.source = _as_source(source)
        self.nodecount, self.source_dirs, self.min_fraction = int(nodecount), tuple(source_dirs), min_fraction
        self.top_frame = self.peek_frame = self.source_frame = self.sandwich_frame = None
        self.flame = self.sandwich_flame = None
        self.selected: str | None = None
        self.message = ""
        if _is_archive(self.source):
            kinds = [k for k, p in self.source.profiles.items() if not p.is_empty]
            if not kinds:
                raise OptionError(self.source.source, "explore(): the archive has no profile with samples")
            kind = kind or ("profile" if "profile" in kinds else kinds[0])
            if kind not in kinds:
                raise OptionError(self.source.source, f"explore(): no profile {kind!r} with samples "
                                  f"(have: {', '.join(kinds)})")
        else:
            kinds, kind = ["profile"], "profile"
        if granularity not in GRANULARITIES:
            raise OptionError(getattr(self.source, "source", None),
                              f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
        f = filters or Filters()
        self._rest = {x.name: getattr(f, x.name) for x in fields(Filters) if x.name not in NAME_FILTERS}

        def cls(widget, name):
            widget.add_class(f"pk-explore-{name}" if name else "pk-explore")
            return widget
        self.kind = cls(w.Dropdown(options=kinds, value=kind, description="profile"), "kind")
        self.sample = cls(w.Dropdown(description="sample"), "sample")
        self._set_sample_options(sample_index)
        self.granularity = cls(w.Dropdown(options=list(GRANULARITIES), value=granularity,
                                          description="granularity"), "granularity")
        self.sort = cls(w.Dropdown(options=list(SORT_KEYS), value="flat", description="sort by"), "sort")
        self.regex = {n: cls(w.Text(value=getattr(f, n) or "", description=n, continuous_update=False,
                                    placeholder="regexp"), n) for n in NAME_FILTERS}
        self.msg = cls(w.HTML(), "msg")
        self.table = cls(w.HTML(), "top")
        self.function = cls(w.Dropdown(description="function", layout=w.Layout(width="95%")), "function")
        self.peek_html = cls(w.HTML(), "peek")
        self.flame_out = cls(w.Output(), "flame")
        self.sandwich_out = cls(w.Output(), "sandwich")
        self._busy = False
        self.kind.observe(self._on_kind, "value")
        for c in (self.sample, self.granularity, *self.regex.values()):
            c.observe(lambda _: self.refresh(), "value")
        self.sort.observe(lambda _: self._draw_table(), "value")
        self.function.observe(lambda ch: self._busy or self.select(ch["new"]), "value")
        row = lambda *ws: w.HBox(list(ws))  # noqa: E731
        self.widget = cls(w.VBox([
            w.HTML(_CSS),
            row(self.kind, self.sample, self.granularity, self.sort),
            row(self.regex["focus"], self.regex["ignore"]), row(self.regex["hide"], self.regex["show"]),
            self.msg,
            w.HBox([w.VBox([w.HTML("<b>Top</b>"), self.table], layout=w.Layout(width="55%", overflow="auto")),
                    w.VBox([self.function, self.peek_html], layout=w.Layout(width="45%"))]),
            w.HTML("<b>Flame graph</b>"), self.flame_out,
            w.HTML("<b>Sandwich: callers above, callees below</b>"), self.sandwich_out,
        ]), "")
        self.refresh()

    # -- state ------------------------------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return self.source[self.kind.value] if _is_archive(self.source) else self.source

    @property
    def filters(self) -> Filters:
        """The Filters from the regexp boxes (OptionError naming the box for a bad regexp)."""
        vals = {}
        for n, box in self.regex.items():
            v = box.value.strip()
            if v:
                try:
                    re.compile(v)
                except re.error as e:
                    raise OptionError(self.profile.source, f"bad {n} regexp {v!r}: {e}") from None
            vals[n] = v or None
        return Filters(**vals, **self._rest)

    def _set_sample_options(self, sample_index=None):
        p = self.profile
        names = [t.type for t in p.sample_types]
        self.sample.options = names
        self.sample.value = names[p.sample_index(sample_index)]

    def _on_kind(self, _):
        self._busy = True
        try:
            self._set_sample_options()
        finally:
            self._busy = False
        self.refresh()

    def _error(self, e: Exception):
        self.message = str(e)
        self.msg.value = f'<span class="pk-explore-err">{html.escape(self.message)}</span>'

    # -- updates ----------------------------------------------------------------------------------------
    def refresh(self):
        """Recompute the table, the flame graph and the selection from the controls."""
        if self._busy:
            return
        try:
            f, p, si = self.filters, self.profile, self.sample.value
            t = top(p, si, granularity=self.granularity.value, filters=f)
            fl = interactive_flame(p, si, filters=f, min_fraction=self.min_fraction)
        except PerfkitError as e:
            self._error(e)
            return
        self.message, self.msg.value = "", ""
        self.top_frame, self.flame = t, fl
        self.flame_out.outputs = _html_out(fl._repr_html_())
        names = list(self._sorted().head(self.nodecount)["name"]) if len(t) else []
        keep = self.selected if self.selected in names else (names[0] if names else None)
        self._busy = True
        try:
            self.function.options = names
            self.function.value = keep
        finally:
            self._busy = False
        if not names:
            self._error(OptionError(p.source, "no samples left after the filters"))
        self.select(keep)

    def _sorted(self) -> pd.DataFrame:
        col, asc = SORT_KEYS[self.sort.value]
        return self.top_frame.sort_values(col, ascending=asc, kind="mergesort", key=None if asc else abs)

    def _draw_table(self):
        if self.top_frame is None:
            return
        unit = self.top_frame.attrs.get("unit", "")
        rows = []
        for r in self._sorted().head(self.nodecount).itertuples():
            sel = ' class="pk-selected"' if r.name == self.selected else ""
            rows.append(f'<tr data-name="{html.escape(r.name, quote=True)}"{sel}><td>{format_value(r.flat, unit)}'
                        f"</td><td>{r.flat_pct:.2f}%</td><td>{r.sum_pct:.2f}%</td>"
                        f"<td>{format_value(r.cum, unit)}</td><td>{r.cum_pct:.2f}%</td>"
                        f"<td>{html.escape(r.name)}</td></tr>")
        self.table.value = ('<table class="pk-explore-table"><thead><tr><th>flat</th><th>flat%</th><th>sum%</th>'
                            "<th>cum</th><th>cum%</th><th>name</th></tr></thead><tbody>" + "".join(rows) +
                            f"</tbody></table><small>{len(self.top_frame)} nodes, sorted by {self.sort.value}"
                            "</small>")

    def select(self, name: str | None):
        """Show the callers, callees, source lines and sandwich of one node of the table."""
        self.selected = name
        if name is not None and name != self.function.value and name in self.function.options:
            self._busy = True
            try:
                self.function.value = name
            finally:
                self._busy = False
        self._draw_table()
        if name is None:
            self.peek_frame = self.source_frame = self.sandwich_frame = self.sandwich_flame = None
            self.peek_html.value = ""
            self.sandwich_out.outputs = ()
            return
        p, si, f, g = self.profile, self.sample.value, self.filters, self.granularity.value
        try:
            self.peek_frame = peek(p, si, regex=f"^{re.escape(name)}$", granularity=g, filters=f)
            if g == "functions":
                self.source_frame = source_lines(p, si, function=name, source_dirs=self.source_dirs, filters=f)
                fp = apply_filters(p, f)
                self.sandwich_frame = sandwich(fp, si, function=name)
                self.sandwich_flame = interactive_flame(fp, si, min_fraction=0, sandwich=name,
                                                        filters=Filters(focus=f"^{re.escape(name)}$"))
            else:
                self.source_frame = self.sandwich_frame = self.sandwich_flame = None
        except PerfkitError as e:
            self._error(e)
            return
        self.peek_html.value = self._peek_html()
        self.sandwich_out.outputs = (_html_out(self.sandwich_flame._repr_html_()) if self.sandwich_flame else
                                     _html_out("<i>the sandwich view works at functions granularity</i>"))

    def _peek_html(self) -> str:
        pk, unit = self.peek_frame, self.peek_frame.attrs.get("unit", "")
        rows = []
        for r in pk.itertuples():
            if r.relation == "self":
                rows.append(f'<tr class="pk-peek-self"><td>{format_value(r.flat, unit)} flat</td>'
                            f"<td>{format_value(r.cum, unit)} cum</td><td><b>{html.escape(r.name)}</b></td></tr>")
            else:
                arrow = "\u2190 called by" if r.relation == "caller" else "\u2192 calls"
                rows.append(f'<tr class="pk-peek-{r.relation}" data-name="{html.escape(r.name, quote=True)}">'
                            f"<td>{arrow}</td><td>{format_value(r.weight, unit)} ({r.pct:.2f}%)</td>"
                            f"<td>{html.escape(r.name)}</td></tr>")
        out = f'<table class="pk-explore-table pk-explore-peek-table">{"".join(rows)}</table>'
        src = self.source_frame
        if src is not None and len(src):
            lines, last = [], None
            for r in src.itertuples():
                if r.file != last:
                    lines.append(f"\u2500\u2500 {html.escape(r.file)}")
                    last = r.file
                txt = f"{r.line:>6} {html.escape(r.text)}"
                lines.append(f"<b>{txt}   \u2190 {format_value(r.cum, unit)}</b>" if r.hot else txt)
            out += '<pre class="pk-explore-source">' + "\n".join(lines) + "</pre>"
        elif src is not None and src.attrs.get("missing"):
            out += ("<small>source not found locally: " + html.escape(", ".join(src.attrs["missing"][:3])) +
                    " (pass source_dirs=...)</small>")
        return out

    # -- display ----------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)

    def __repr__(self) -> str:
        return f"<Explorer {getattr(self.source, 'source', '')} {self.kind.value}/{self.sample.value}>"


@checked_options
def explore(profile_or_archive, sample_index=None, *, kind: str | None = None, granularity: str = "functions",
            filters: Filters | None = None, nodecount: int = 40, source_dirs=(),
            min_fraction: float = 0.001) -> Explorer:
    """Explore a profile or a debug archive in the notebook, like ``go tool pprof -http``.

    ``kind`` picks the archive's profile ("profile", "heap", ...); ``nodecount`` the table's rows;
    ``source_dirs``: where to look for source files whose recorded paths are not found as they are.
    """
    return Explorer(profile_or_archive, sample_index, kind=kind, granularity=granularity, filters=filters,
                    nodecount=nodecount, source_dirs=source_dirs, min_fraction=min_fraction)
