"""Blocking profiles derived from a trace, as perfkit Profiles (the same
selection and units as `go tool trace -pprof=net|sync|syscall|sched`)."""
from __future__ import annotations


from ..errors import OptionError
from .analysis import BLOCKING_KINDS, blocking_intervals
from ..model.trace import Trace

MAX_STACK = 128


def blocking_profile_bytes(t: Trace, kind: str) -> bytes:
    """profile.proto bytes (uncompressed) of a derived blocking profile."""
    from ..proto import profile_pb2
    if kind not in BLOCKING_KINDS:
        raise OptionError(t.source, f"unknown blocking profile type {kind!r}; use one of "
                          + ", ".join(BLOCKING_KINDS))
    iv = blocking_intervals(t, kind)
    agg = iv.groupby("stack").agg(count=("duration", "size"), delay=("duration", "sum"))
    m = profile_pb2.Profile()
    strings = {"": 0}
    table = [""]

    def S(s):
        i = strings.get(s)
        if i is None:
            i = strings[s] = len(table)
            table.append(s)
        return i

    m.sample_type.add(type=S("contentions"), unit=S("count"))
    m.sample_type.add(type=S("delay"), unit=S("nanoseconds"))
    m.period_type.type = S("trace")
    m.period_type.unit = S("count")
    m.period = 1
    m.duration_nanos = t.duration_ns
    loc_of_frame: dict[int, int] = {}
    fn_ids: dict[tuple[str, str], int] = {}
    for sid, cnt, delay in zip(agg.index.to_numpy(), agg["count"].to_numpy(), agg["delay"].to_numpy()):
        locs = []
        for f in t.stack_frames_of(sid)[:MAX_STACK + 1].tolist():
            lid = loc_of_frame.get(f)
            if lid is None:
                key = (t.frame_fn[f], t.frame_file[f])
                fid = fn_ids.get(key)
                if fid is None:
                    fid = fn_ids[key] = len(fn_ids) + 1
                    m.function.add(id=fid, name=S(key[0]), system_name=S(key[0]), filename=S(key[1]))
                lid = loc_of_frame[f] = len(loc_of_frame) + 1
                loc = m.location.add(id=lid, address=int(t.frame_pc[f]))
                loc.line.add(function_id=fid, line=int(t.frame_line[f]))
            locs.append(lid)
        m.sample.add(location_id=locs, value=[int(cnt), int(delay)])
    m.string_table.extend(table)
    return m.SerializeToString()


def blocking_profile(t: Trace, kind: str):
    """The derived blocking profile as a perfkit Profile (decoded from its profile.proto)."""
    from ..formats.pprof import decode_profile
    return decode_profile(blocking_profile_bytes(t, kind), source=f"{t.source} [{kind}]", allow_empty=True)


def write_blocking_profile(t: Trace, kind: str, path) -> None:
    import gzip
    from ..fileio import write_bytes
    write_bytes(path, gzip.compress(blocking_profile_bytes(t, kind), mtime=0))
