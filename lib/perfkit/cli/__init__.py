"""The `perfkit` command line."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pandas as pd

from ..errors import PerfkitError
from ..style import format_value

FORMATS = ("table", "csv", "json")


def _add_filters(sp):
    g = sp.add_argument_group("filters (pprof semantics)")
    for name in ("focus", "ignore", "hide", "show", "tagfocus", "tagignore"):
        g.add_argument(f"--{name}", metavar="REGEX", help=f"pprof's -{name}")


def _filters(a) -> dict:
    return {k: getattr(a, k) for k in ("focus", "ignore", "hide", "show", "tagfocus", "tagignore")
            if getattr(a, k, None)}


def _read(path: str):
    from ..formats.pprof import read_profile
    if os.path.isdir(path):
        raise PerfkitError(path, "is a directory: pass one profile file, e.g. "
                           f"{os.path.join(path, 'profile')} (or use `perfkit archive`)")
    return read_profile(path, allow_empty=True)


def _emit(df: pd.DataFrame, fmt: str, table_cols=None, value_cols=(), unit: str = "", limit=None):
    out = sys.stdout
    if fmt == "csv":
        df.to_csv(out, index=False, float_format="%.6f", lineterminator="\n")
    elif fmt == "json":
        json.dump({"attrs": {k: v for k, v in df.attrs.items() if isinstance(v, (str, int, float, type(None)))},
                   "rows": json.loads(df.to_json(orient="records"))}, out, indent=1)
        out.write("\n")
    else:
        shown = df if limit is None else df.head(limit)
        shown = shown[table_cols] if table_cols else shown.copy()
        shown = shown.copy()
        for c in value_cols:
            if c in shown:
                shown[c] = [format_value(v, unit) for v in shown[c]]
        for c in shown.columns:
            if c == "pct" or c.endswith("_pct"):
                shown[c] = [f"{v:.2f}%" for v in shown[c]]
        with pd.option_context("display.max_colwidth", 120, "display.width", 250):
            out.write(shown.to_string(index=False) + "\n")
        if limit is not None and len(df) > limit:
            out.write(f"({len(df) - limit} more rows; --nodecount 0 or --format csv shows all)\n")


def cmd_archive(a):
    from ..formats.archive import load_archive
    arch = load_archive(a.path, strict=a.strict)
    df = arch.summary()
    df["time"] = df["time"].astype(str).replace({"None": "", "NaT": ""})
    _emit(df, a.format)
    for p in arch.problems:
        print(f"perfkit: warning: {p}", file=sys.stderr)
    return 0


def cmd_top(a):
    from ..views.top import top
    p = _read(a.path)
    df = top(p, a.sample_index, a.granularity, **_filters(a))
    if not a.quiet and a.format == "table":
        t = p.sample_types[p.sample_index(a.sample_index)]
        print(f"{a.path}: {t} total {format_value(df.attrs['total'], t.unit)}"
              + (f", duration {p.duration_seconds:.2f}s" if p.duration_nanos else ""))
    limit = (a.nodecount or None) if a.format == "table" else None
    _emit(df, a.format, None, ("flat", "cum"), df.attrs["unit"], limit)
    return 0


def cmd_peek(a):
    from ..views.graph import peek
    p = _read(a.path)
    df = peek(p, a.regex, a.sample_index, a.granularity, **_filters(a))
    if df.empty:
        raise PerfkitError(a.path, f"no node matches {a.regex!r}")
    _emit(df, a.format, None, ("weight", "flat", "cum"), df.attrs["unit"])
    return 0


def cmd_diff(a):
    from ..views.diff import diff
    base, target = _read(a.base), _read(a.target)
    df = diff(base, target, a.sample_index, a.granularity, normalize=a.normalize, **_filters(a))
    cols = ["name", "base_flat", "target_flat", "flat_delta", "flat_delta_pct", "base_cum", "target_cum",
            "cum_delta", "cum_delta_pct"]
    if df["flat_noise"].notna().any():
        cols += ["cum_delta_ci95", "cum_noise"]
    unit = df.attrs["unit"].removesuffix("/s")
    limit = (a.nodecount or None) if a.format == "table" else None
    _emit(df, a.format, cols, ("base_flat", "target_flat", "flat_delta", "base_cum", "target_cum",
                               "cum_delta", "cum_delta_ci95"), unit, limit)
    return 0


EXPORTS = {"folded": (".folded", ".txt"), "speedscope": (".json",), "pprof": (".pb.gz", ".pb", ".pprof")}


def cmd_export(a):
    from ..fileio import write_bytes
    p = _read(a.path)
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
    f = _filters(a)
    if fmt == "folded":
        from ..formats.folded import to_folded
        data = to_folded(p, a.sample_index, **f).encode()
    elif fmt == "speedscope":
        from ..formats.speedscope import to_speedscope
        data = json.dumps(to_speedscope(p, a.sample_index, **f)).encode()
    else:
        from ..formats.pprof import encode_profile
        from ..model.filter import apply_filters
        data = encode_profile(apply_filters(p, **f))
    write_bytes(out, data, overwrite=a.force)
    print(f"wrote {out} ({fmt}, {len(data):,} bytes)", file=sys.stderr)
    return 0


def cmd_collect(a):
    from ..formats.collect import collect
    arch = collect(a.url, a.output, cpu_seconds=a.seconds, trace_seconds=a.trace_seconds, timeout=a.timeout,
                   force=a.force)
    return 1 if arch.errors else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="perfkit", description="Investigate Go profiles and debug archives.")
    ap.add_argument("--version", action="version", version=f"perfkit {__import__('perfkit').__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("archive", help="summary of a debug archive (directory or .tar.gz)")
    sp.add_argument("path")
    sp.add_argument("--format", choices=FORMATS, default="table")
    sp.add_argument("--strict", action="store_true", help="fail on the first unreadable file")
    sp.set_defaults(func=cmd_archive)

    def common(sp, granularity=True):
        sp.add_argument("--sample-index", metavar="NAME", help="sample type (default: the profile's default)")
        if granularity:
            sp.add_argument("--granularity", choices=("functions", "files", "lines", "packages"),
                            default="functions")
        sp.add_argument("--format", choices=FORMATS, default="table")
        _add_filters(sp)

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
    sp.add_argument("--nodecount", type=int, default=30)
    sp.set_defaults(func=cmd_diff)

    sp = sub.add_parser("export", help="write folded stacks, speedscope JSON or profile.proto")
    sp.add_argument("path")
    sp.add_argument("-o", "--output", required=True)
    sp.add_argument("--format", choices=tuple(EXPORTS))
    sp.add_argument("--sample-index", metavar="NAME")
    sp.add_argument("--force", action="store_true", help="replace an existing output file")
    _add_filters(sp)
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("collect", help="pull a debug archive from a Go /debug/pprof/ endpoint")
    sp.add_argument("url", help="server base URL, e.g. http://127.0.0.1:6060 (the /debug/pprof/ path is added)")
    sp.add_argument("-o", "--output", required=True, help="new (or empty) directory to write the archive into")
    sp.add_argument("--seconds", type=float, default=10, help="CPU profile duration (default 10)")
    sp.add_argument("--trace-seconds", type=float, default=1, help="execution trace duration (default 1)")
    sp.add_argument("--timeout", type=float, default=30, help="per-request timeout beyond the recording time")
    sp.add_argument("--force", action="store_true", help="write into a non-empty directory")
    sp.set_defaults(func=cmd_collect)

    from .graphs import register as register_render
    register_render(sub)
    from .traces import register as register_trace
    register_trace(sub)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        return a.func(a)
    except PerfkitError as e:
        print(f"perfkit: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
