"""The chart that shows one triage finding (:func:`perfkit.analysis.triage`), chosen by its kind.

:func:`finding_chart` only draws what the archive holds: a finding about the trace gets a
P timeline when there is a trace that reads, a finding about the CPU a flame graph of the part of the
profile it names, a finding about goroutines the goroutines by wait site (next to the
baseline's when there is one). When the archive lacks what a kind's chart needs, it
returns None and :func:`finding_chart_note` says why.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..analysis.nethttp import trace_connections
from ..errors import PerfkitError
from ..model.filter import Filters
from ..style import SERIES_COLORS
from ..trace import blocking_profile, read_trace
from ..views.top import top
from .charts import goroutines_side_by_side, subsystem_bars
from .flame_static import StaticFigure, flame_graph, new_figure
from .tracecharts import p_timeline

__all__ = ["finding_chart", "finding_chart_note", "readable_traces", "FINDING_FOCUS"]

# what part of the CPU profile a kind is about (a pprof focus regex)
FINDING_FOCUS = {
    "tls-handshakes": r"^crypto/tls\.\(\*Conn\)\.(serverHandshake|clientHandshake|HandshakeContext|Handshake)$",
    "syscall-heavy": r"^(syscall\.|runtime\.(entersyscall|exitsyscall|syscall)|internal/runtime/syscall\.)",
    "lock-contention": r"^(sync\.|runtime\.(lock2|unlock2|semacquire|semrelease|sync_runtime_Sem))",
    "gc-pressure": r"^runtime\.(gcBgMarkWorker|gcAssistAlloc|mallocgc|bgsweep|gcDrain)",
}
_TRACE_KINDS = ("cpu-saturation", "cpu-starvation", "scheduler-latency")
_GOROUTINE_KINDS = ("connection-churn", "goroutine-leak", "blocking-io")


def _has_samples(archive, kind: str) -> bool:
    return archive is not None and kind in archive and not archive[kind].is_empty


def _label(archive, fallback: str) -> str:
    src = str(getattr(archive, "source", "") or "").rstrip("/")
    name = src.rsplit("/", 1)[-1]
    return name.removesuffix(".tar.gz") or fallback


def _pair(archive, baseline, kind: str) -> dict:
    """{label: profile} of the archive and, when it has one, the baseline (baseline first)."""
    out = {}
    if _has_samples(baseline, kind):
        out[f"baseline: {_label(baseline, 'baseline')}"] = baseline[kind]
    if _has_samples(archive, kind):
        out[_label(archive, "archive")] = archive[kind]
    return out


def _named_function(finding, cpu) -> str | None:
    """The function a hot-function finding names: the CPU profile's function with the largest flat value whose
    name appears in the finding's title or evidence (a string value or a label)."""
    texts = [finding.title] + [e.label for e in finding.evidence] + \
        [e.value for e in finding.evidence if isinstance(e.value, str)]
    for name in top(cpu)["name"]:
        if any(name in t for t in texts):
            return name
    return None


def readable_traces(archives: dict) -> dict:
    """``{label: Trace}`` of the archives (``{label: DebugArchive or None}``) whose runtime trace reads.

    An archive without a trace, or whose trace does not parse (truncated, an unknown format), is left out:
    a report then says the trace could not be used instead of failing.
    """
    out = {}
    for label, a in archives.items():
        if a is None or a.trace is None:
            continue
        t = _read_cached(a.trace)
        if t is not None:
            out[label] = t
    return out


# the last two traces read (a chart per finding reads the same trace again); the TraceFile is kept so its id
# cannot be reused while it is cached
_READ: dict[int, tuple[object, object]] = {}


def _read_cached(tf):
    hit = _READ.get(id(tf))
    if hit is not None and hit[0] is tf:
        return hit[1]
    try:
        t = read_trace(tf)
    except PerfkitError:
        t = None
    if len(_READ) >= 2:                   # the archive and its baseline
        _READ.pop(next(iter(_READ)))
    _READ[id(tf)] = (tf, t)
    return t


def _traces(archive, baseline) -> dict:
    labels = {}
    if baseline is not None:
        labels[f"baseline: {_label(baseline, 'baseline')}"] = baseline
    labels[_label(archive, "archive")] = archive
    return readable_traces(labels)


def _trace_ok(archive) -> bool:
    return bool(readable_traces({"archive": archive}))


def _creation_bars(traces: dict, title: str, n: int = 10) -> StaticFigure:
    """Goroutines created per second of each trace, by creating function (the tracer's own left out)."""
    rates = {}
    for label, t in traces.items():
        c = trace_connections(t)
        rates[label] = c.created_by.set_index("creator")["created"] / (c.seconds or 1.0)
    wide = pd.concat(rates, axis=1).fillna(0.0)
    wide = wide.assign(_max=wide.max(axis=1)).sort_values("_max", ascending=False, kind="mergesort").head(n)
    wide = wide.drop(columns="_max")
    labels = list(traces)
    fig = new_figure(12, max(3.0, 0.25 * len(wide) * len(labels) + 1.8))
    ax = fig.add_axes((0.4, 0.12, 0.57, 0.76))
    y = np.arange(len(wide))
    h = 0.8 / max(1, len(labels))
    for k, lab in enumerate(labels):
        off = (k - (len(labels) - 1) / 2) * h
        v = wide[lab].to_numpy(float)
        ax.barh(y + off, v, height=h, color=SERIES_COLORS[k % len(SERIES_COLORS)], label=lab)
        for yi, vi in zip(y, v):
            ax.text(vi, yi + off, f" {vi:,.1f}/s", va="center", fontsize=6.5)
    ax.set_yticks(y, [str(x) if len(str(x)) <= 60 else "…" + str(x)[-59:] for x in wide.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("goroutines created per second (trace window)")
    ax.set_title(f"{title}\ngoroutines created per second by creating function", fontsize=10, loc="left")
    if len(labels) > 1:
        ax.legend(fontsize=8, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.perfkit_data = wide.rename_axis("creator").reset_index()
    return fig


def finding_chart_note(finding, archive, baseline=None) -> str:
    """Why :func:`finding_chart` draws nothing for this finding ("" when it draws one)."""
    kind = finding.kind
    if kind == "profiling-disabled":
        return "an empty profile has nothing to draw; the finding says how to turn it on"
    if kind == "connection-churn" and _trace_ok(archive):
        return ""
    if kind in _TRACE_KINDS and not _trace_ok(archive) and not _has_samples(archive, "profile"):
        return "no runtime trace and no CPU samples in the archive: nothing to draw"
    if kind in _GOROUTINE_KINDS and not _has_samples(archive, "goroutine"):
        return "no goroutine profile in the archive: nothing to draw"
    if kind in FINDING_FOCUS or kind == "hot-function":
        if kind == "lock-contention" and (_has_samples(archive, "mutex") or _has_samples(archive, "block")):
            return ""
        if not _has_samples(archive, "profile"):
            return "no CPU samples in the archive: nothing to draw"
    return ""


def finding_chart(finding, archive, baseline=None) -> StaticFigure | None:
    """The chart that shows ``finding`` (a :class:`perfkit.analysis.Finding`) in ``archive``.

    ``archive`` and ``baseline`` are :class:`perfkit.DebugArchive` objects. By kind:

    * ``cpu-saturation``, ``cpu-starvation``, ``scheduler-latency``: the trace's P timeline (the baseline's above it);
      without a trace, the CPU per second by subsystem;
    * ``tls-handshakes``, ``syscall-heavy``, ``gc-pressure``: a flame graph of the CPU profile focused on
      the functions the kind is about (:data:`FINDING_FOCUS`);
    * ``lock-contention``: the mutex (else block) profile's flame graph when it has samples, else the
      CPU flame graph focused on lock slow paths;
    * ``hot-function``: the CPU flame graph focused on the function the finding names;
    * ``connection-churn``: goroutines created per second by creating function in the trace (the accept
      loop's are the new connections), else goroutines by wait site;
    * ``goroutine-leak``: goroutines by wait site, the baseline's beside; ``blocking-io``: the trace's
      network-blocking profile as a flame graph when there is a trace with such events, else goroutines by
      wait site;
    * ``profiling-disabled``: nothing (None): an empty profile has nothing to draw.

    Returns None when the archive lacks what the chart needs (:func:`finding_chart_note` says what).
    """
    kind = finding.kind
    if finding_chart_note(finding, archive, baseline):
        return None
    title = f"{kind}: {finding.title}"
    if kind in _TRACE_KINDS:
        traces = _traces(archive, baseline)
        if _label(archive, "archive") in traces:
            fig = p_timeline(traces)
            fig.suptitle(title, fontsize=10, x=0.01, ha="left")
            return fig
        return subsystem_bars(_pair(archive, baseline, "profile"), per_second=True)
    if kind == "connection-churn" and _trace_ok(archive):
        return _creation_bars(_traces(archive, baseline), title)
    if kind == "blocking-io" and _trace_ok(archive):
        net = blocking_profile(readable_traces({"archive": archive})["archive"], "net")
        if not net.is_empty:
            return flame_graph(net, title=f"{title} (time blocked on the network, from the trace)")
    if kind in _GOROUTINE_KINDS:
        return goroutines_side_by_side(_pair(archive, baseline, "goroutine"), by="where", n=12)
    if kind == "lock-contention":
        for k in ("mutex", "block"):
            if _has_samples(archive, k):
                return flame_graph(archive[k], "delay", title=f"{title} ({k} profile)")
    if kind == "hot-function":
        fn = _named_function(finding, archive.cpu)
        filters = Filters(focus="^" + re.escape(fn) + "$") if fn else None
        return flame_graph(archive.cpu, title=title, filters=filters)
    if kind in FINDING_FOCUS:
        return flame_graph(archive.cpu, title=title, filters=Filters(focus=FINDING_FOCUS[kind]))
    return flame_graph(archive.cpu, title=title) if _has_samples(archive, "profile") else None
