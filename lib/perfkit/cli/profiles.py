"""`perfkit archive|top|peek|diff|export|collect`: profiles and debug archives."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pandas as pd

from ..errors import PerfkitError
from ..fileio import write_bytes
from ..formats.archive import load_archive
from ..formats.collect import collect
from ..formats.pprof import encode_profile
from ..model.filter import apply_filters
from ..style import format_value
from ..views.diff import diff
from ..views.export import to_folded, to_speedscope
from ..views.graph import peek
from ..views.top import top
from .shared import (FORMATS, Column, add_filter_options, add_granularity, add_sample_index, filters_from_args,
                     percent, read_profile_arg, shorten_middle, terminal_width, text_table, write_lines,
                     write_records)

ARCHIVE_WIDTH = 100
EXPORTS = {"folded": (".folded", ".txt"), "speedscope": (".json",), "pprof": (".pb.gz", ".pb", ".pprof")}


def _values(unit: str, signed: bool = False):
    def fmt(v) -> str:
        s = format_value(v, unit)
        return f"+{s}" if signed and s and v > 0 else s
    return fmt


def _more_rows(shown: int, total: int) -> list[str]:
    return [f"({total - shown} more rows; --nodecount 0 or --format csv shows all)"] if total > shown else []


def _archive_lines(df: pd.DataFrame, width: int) -> list[str]:
    """The archive summary in `width` columns: one line per file, the long contents wrapped last."""
    rows = []
    for r in df.itertuples():
        status = "ok" if r.status == "ok" else "empty" if r.status == "ok (no samples)" else \
            "error" if r.status.startswith("error") else "unread"
        contents = r.totals or r.sample_types
        if status in ("error", "unread"):
            contents = r.status + (f"; {contents}" if contents else "")
        rows.append((r.file, r.kind, format_value(r.bytes, "bytes"), "" if pd.isna(r.samples) else f"{r.samples:,}",
                     "" if pd.isna(r.duration_s) else f"{r.duration_s:.1f}s", status, contents))
    heads = ("file", "kind", "size", "samples", "duration", "status")
    fixed = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(heads)]
    # the first two columns are names: cap them so the contents keep some room
    fixed[0], fixed[1] = min(fixed[0], 16), min(fixed[1], 12)
    lead = sum(fixed) + 2 * len(fixed)
    room = max(width - lead, 20)
    align = ("<", "<", ">", ">", ">", "<")

    def line(cells, contents):
        left = "  ".join(f"{shorten_middle(c, w):{a}{w}}" for c, w, a in zip(cells, fixed, align))
        return f"{left}  {contents}".rstrip()

    out = [line(heads, "contents")]
    for row in rows:
        parts = textwrap.wrap(row[6], room, break_on_hyphens=False) or [""]
        out.append(line(row[:6], parts[0]))
        out.extend(line(("",) * 6, p) for p in parts[1:])
    return out


def cmd_archive(a) -> int:
    arch = load_archive(a.path, strict=a.strict)
    df = arch.summary()
    df["time"] = df["time"].astype(str).replace({"None": "", "NaT": ""})
    if a.format == "table":
        # a fixed layout, whatever the terminal: 100 columns hold every field without cutting any
        write_lines([f"{arch.source}: {len(arch.files)} files"] + _archive_lines(df, ARCHIVE_WIDTH), ARCHIVE_WIDTH)
    else:
        write_records(df, a.format)
    for p in arch.problems:
        print(f"perfkit: warning: {p}", file=sys.stderr)
    return 0


def _profile_header(path: str, p, sample_index, total: int) -> str:
    t = p.sample_types[p.sample_index(sample_index)]
    dur = f", duration {format_value(p.duration_nanos, 'nanoseconds')}" if p.duration_nanos else ""
    empty = " (no samples)" if p.is_empty else ""
    return f"{path}: {t.type} total {format_value(total, t.unit)}{dur}{empty}"


def cmd_top(a) -> int:
    p = read_profile_arg(a.path)
    df = top(p, a.sample_index, granularity=a.granularity, filters=filters_from_args(a))
    if a.format != "table":
        write_records(df, a.format)
        return 0
    shown = df.head(a.nodecount) if a.nodecount else df
    unit = df.attrs["unit"]
    cols = [Column("flat", "flat", _values(unit)), Column("flat%", "flat_pct", percent),
            Column("sum%", "sum_pct", percent), Column("cum", "cum", _values(unit)),
            Column("cum%", "cum_pct", percent)]
    lines = [] if a.quiet else [_profile_header(a.path, p, a.sample_index, df.attrs["total"])]
    write_lines(lines + text_table(shown, cols) + _more_rows(len(shown), len(df)))
    return 0


def cmd_peek(a) -> int:
    p = read_profile_arg(a.path)
    df = peek(p, a.sample_index, regex=a.regex, granularity=a.granularity, filters=filters_from_args(a))
    if df.empty:
        raise PerfkitError(a.path, f"no node matches {a.regex!r}")
    if a.format != "table":
        write_records(df, a.format)
        return 0
    unit = df.attrs["unit"]
    width = terminal_width()
    t = df.copy()
    # callers above each matching node and callees below it, indented as in `go tool pprof -peek`
    t["label"] = [n if r == "self" else f"    {n}" for r, n in zip(t["relation"], t["name"])]
    t["edge"] = t["weight"].where(t["relation"] != "self")
    t["edge_pct"] = t["pct"].where(t["relation"] != "self")
    cols = [Column("flat", "flat", _values(unit)), Column("cum", "cum", _values(unit)),
            Column("calls", "edge", _values(unit)), Column("calls%", "edge_pct", percent)]
    lines = [f"{a.path}: callers above, callees below each node matching {a.regex!r}"]
    for i, (_, block) in enumerate(t.groupby("focus", sort=False)):
        table = text_table(block, cols, name="label", width=width)
        lines += table if i == 0 else ["-" * max(len(ln) for ln in table)] + table[1:]
    write_lines(lines, width)
    return 0


def cmd_diff(a) -> int:
    base, target = read_profile_arg(a.base), read_profile_arg(a.target)
    df = diff(base, target, a.sample_index, granularity=a.granularity, normalize=a.normalize,
              filters=filters_from_args(a))
    if a.format != "table":
        write_records(df, a.format)
        return 0
    unit = df.attrs["unit"].removesuffix("/s")
    cols = [Column("flat Δ", "flat_delta", _values(unit, signed=True)), Column("flat Δ%", "flat_delta_pct", percent),
            Column("cum Δ", "cum_delta", _values(unit, signed=True)), Column("cum Δ%", "cum_delta_pct", percent),
            Column("base cum", "base_cum", _values(unit)), Column("target cum", "target_cum", _values(unit))]
    if df["cum_noise"].notna().any():
        cols += [Column("cum ±95%", "cum_delta_ci95", _values(unit)),
                 Column("noise", "cum_noise", lambda v: "noise" if v is True else "")]
    per = {None: "raw values, % of the base total", "per_second": "values per second of each profile",
           "total": "base scaled to the target's total"}[a.normalize]
    shown = df.head(a.nodecount) if a.nodecount else df
    header = (f"{a.target} - {a.base}: {per}; base {format_value(df.attrs['base_total'], unit)}, "
              f"target {format_value(df.attrs['target_total'], unit)}")
    write_lines([header] + text_table(shown, cols) + _more_rows(len(shown), len(df)))
    return 0


def cmd_export(a) -> int:
    p = read_profile_arg(a.path)
    fmt = a.format
    if fmt is None:
        name = a.output.lower()
        fmt = next((f for f, exts in EXPORTS.items() if name.endswith(exts)), None)
        if fmt is None:
            raise PerfkitError(a.output, "cannot tell the export format from the name: pass --format "
                               + "|".join(EXPORTS))
    out = Path(a.output)
    if out.exists() and out.resolve() == Path(a.path).resolve():
        raise PerfkitError(out, "output would overwrite the input profile")
    f = filters_from_args(a)
    if fmt == "folded":
        data = to_folded(p, a.sample_index, filters=f).encode()
    elif fmt == "speedscope":
        data = json.dumps(to_speedscope(p, a.sample_index, filters=f)).encode()
    else:
        data = encode_profile(apply_filters(p, f))
    write_bytes(out, data, overwrite=a.force)
    print(f"wrote {out} ({fmt}, {len(data):,} bytes)", file=sys.stderr)
    return 0


def cmd_collect(a) -> int:
    arch = collect(a.url, a.output, cpu_seconds=a.seconds, trace_seconds=a.trace_seconds, timeout=a.timeout,
                   force=a.force, gc=a.gc)
    return 1 if arch.errors else 0


def add_profile_commands(sub) -> None:
    """Add archive, top, peek, diff, export and collect to an argparse subparsers object."""
    sp = sub.add_parser("archive", help="summary of a debug archive (directory or .tar.gz)")
    sp.add_argument("path")
    sp.add_argument("--format", choices=FORMATS, default="table")
    sp.add_argument("--strict", action="store_true", help="fail on the first unreadable file")
    sp.set_defaults(func=cmd_archive)

    def common(sp):
        add_sample_index(sp)
        add_granularity(sp)
        sp.add_argument("--format", choices=FORMATS, default="table")
        add_filter_options(sp)

    sp = sub.add_parser("top", help="flat and cumulative values per node, like go tool pprof -top")
    sp.add_argument("path")
    common(sp)
    sp.add_argument("--nodecount", type=int, default=30, help="rows in table format (0 = all); csv/json show all")
    sp.add_argument("-q", "--quiet", action="store_true", help="no header line")
    sp.set_defaults(func=cmd_top)

    sp = sub.add_parser("peek", help="callers and callees of nodes matching a regexp")
    sp.add_argument("path")
    sp.add_argument("regex")
    common(sp)
    sp.set_defaults(func=cmd_peek)

    sp = sub.add_parser("diff", help="target minus base, like go tool pprof -diff_base")
    sp.add_argument("base")
    sp.add_argument("target")
    common(sp)
    sp.add_argument("--normalize", choices=("per_second", "total"))
    sp.add_argument("--nodecount", type=int, default=30, help="rows in table format (0 = all); csv/json show all")
    sp.set_defaults(func=cmd_diff)

    sp = sub.add_parser("export", help="write folded stacks, speedscope JSON or profile.proto")
    sp.add_argument("path")
    sp.add_argument("-o", "--output", required=True)
    sp.add_argument("--format", choices=tuple(EXPORTS))
    add_sample_index(sp)
    sp.add_argument("--force", action="store_true", help="replace an existing output file")
    add_filter_options(sp)
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("collect", help="pull a debug archive from a Go /debug/pprof/ endpoint")
    sp.add_argument("url", help="server base URL, e.g. http://127.0.0.1:6060 (the /debug/pprof/ path is added)")
    sp.add_argument("-o", "--output", required=True, help="new (or empty) directory to write the archive into")
    sp.add_argument("--seconds", type=float, default=10, help="CPU profile duration (default 10)")
    sp.add_argument("--trace-seconds", type=float, default=1, help="execution trace duration (default 1)")
    sp.add_argument("--timeout", type=float, default=30, help="per-request timeout beyond the recording time")
    sp.add_argument("--force", action="store_true", help="write into a non-empty directory")
    sp.add_argument("--gc", action="store_true",
                    help="garbage-collect before the heap snapshot, so heap and allocs describe now, not the last GC")
    sp.set_defaults(func=cmd_collect)
