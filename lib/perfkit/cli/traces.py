"""`perfkit trace summary|events|pprof`: Go runtime/trace files."""
from __future__ import annotations

import dataclasses
import json
import sys


def add_trace_commands(subparsers) -> None:
    p = subparsers.add_parser("trace", help="Go runtime/trace files: summary, event counts, blocking profiles")
    sub = p.add_subparsers(dest="trace_command", required=True)
    s = sub.add_parser("summary", help="format version, duration, GOMAXPROCS, goroutines, GC, busy-P share")
    s.add_argument("path")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=cmd_summary)
    e = sub.add_parser("events", help="event counts by type")
    e.add_argument("path")
    e.add_argument("--format", choices=("csv", "table", "json"), default="csv")
    e.set_defaults(func=cmd_events)
    q = sub.add_parser("pprof", help="derived blocking profile as profile.proto")
    q.add_argument("path")
    q.add_argument("--type", required=True, choices=("net", "sync", "syscall", "sched"))
    q.add_argument("-o", "--output", required=True)
    q.set_defaults(func=cmd_pprof)


def cmd_summary(args, out=None) -> int:
    from ..trace import read_trace
    from ..trace.analysis import trace_summary
    out = out or sys.stdout
    s = dataclasses.asdict(trace_summary(read_trace(args.path)))
    if args.format == "json":
        out.write(json.dumps(s, indent=2) + "\n")
    else:
        w = max(len(k) for k in s)
        for k, v in s.items():
            out.write(f"{k:<{w}}  {v:.4g}\n" if isinstance(v, float) else f"{k:<{w}}  {v}\n")
    return 0


def cmd_events(args, out=None) -> int:
    from ..trace import read_trace
    out = out or sys.stdout
    df = read_trace(args.path).event_counts()
    if args.format == "csv":
        out.write(df.to_csv(index=False))
    elif args.format == "json":
        out.write(json.dumps(dict(zip(df["type"], df["count"].astype(int).tolist()))) + "\n")
    else:
        out.write(df.to_string(index=False) + "\n")
    return 0


def cmd_pprof(args, out=None) -> int:
    from ..trace import read_trace
    from ..trace.blocking import write_blocking_profile
    write_blocking_profile(read_trace(args.path), args.type, args.output)
    return 0
