"""Blocking profiles derived from a trace, as perfkit Profiles (the same
selection and units as `go tool trace -pprof=net|sync|syscall|sched`)."""
from __future__ import annotations

from ..errors import OptionError
from ..formats.pprof import write_profile
from ..model.builder import ProfileBuilder
from ..model.trace import Trace
from .analysis import BLOCKING_KINDS, blocking_intervals

MAX_STACK = 128


def blocking_profile(t: Trace, kind: str):
    """The derived blocking profile (contentions/count, delay/nanoseconds) as a perfkit Profile."""
    if kind not in BLOCKING_KINDS:
        raise OptionError(t.source, f"unknown blocking profile type {kind!r}; use one of "
                          + ", ".join(BLOCKING_KINDS))
    iv = blocking_intervals(t, kind)
    agg = iv.groupby("stack").agg(count=("duration", "size"), delay=("duration", "sum"))
    b = ProfileBuilder([("contentions", "count"), ("delay", "nanoseconds")], period_type=("trace", "count"),
                       period=1, duration_nanos=t.duration_ns, source=f"{t.source} [{kind}]")
    frame_of = {}          # trace frame index -> (function, file, line, pc)
    for sid, cnt, delay in zip(agg.index.to_numpy(), agg["count"].to_numpy(), agg["delay"].to_numpy()):
        stack = []
        for f in t.stack_frames_of(sid)[:MAX_STACK + 1].tolist():
            fr = frame_of.get(f)
            if fr is None:
                fr = frame_of[f] = (t.frame_fn[f], t.frame_file[f], int(t.frame_line[f]), int(t.frame_pc[f]))
            stack.append(fr)
        b.add_sample(stack, (int(cnt), int(delay)))
    return b.build()


def write_blocking_profile(t: Trace, kind: str, path) -> None:
    """Write the derived blocking profile as gzipped profile.proto."""
    write_profile(blocking_profile(t, kind), path)
