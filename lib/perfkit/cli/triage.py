"""`perfkit triage ARCHIVE [--baseline B] [--format table|json|md] [-o report.html]`."""
from __future__ import annotations

import json
import sys
import tempfile

from ..analysis.detectors import triage
from ..formats.collect import collect
from .shared import shorten_middle, terminal_width

TRIAGE_FORMATS = ("table", "json", "md")


def add_triage_command(subparsers) -> None:
    p = subparsers.add_parser("triage", help="find and explain what is wrong in a debug archive")
    p.add_argument("archive", help="a directory, a .tar.gz, or http(s)://host:port of a /debug/pprof/ endpoint")
    p.add_argument("--baseline", help="an archive to compare with (same forms)")
    p.add_argument("--format", choices=TRIAGE_FORMATS, default="table")
    p.add_argument("-o", "--output", help="write the triage report (HTML) here")
    p.add_argument("--seconds", type=float, default=10, help="CPU profile length when ARCHIVE is a URL (default 10)")
    p.set_defaults(func=cmd_triage)


def _resolve(arg: str, tmp: str, name: str, seconds: float = 10) -> str:
    """A local path as given; a URL collected into a temp directory first (progress on stderr)."""
    if arg.startswith(("http://", "https://")):
        out = f"{tmp}/{name}"
        collect(arg, out, cpu_seconds=seconds, progress=lambda s: print(f"perfkit: collecting {arg}: {s}", file=sys.stderr))
        return out
    return arg


def _table(result, width: int) -> list[str]:
    lines = [shorten_middle(f"{result.archive}" + (f"  (baseline {result.baseline})" if result.baseline else ""),
                            width)]
    if not result.findings:
        return lines + ["no findings"]
    kw = max(len(f.kind) for f in result.findings)
    for f in result.findings:
        lead = f"{f.severity:<6}  {f.kind:<{kw}}  "
        lines.append(lead + shorten_middle(f.title, max(width - len(lead), 12)))
    return lines


def _markdown(result) -> str:
    out = [f"# Triage of `{result.archive}`", ""]
    if result.baseline:
        out += [f"Baseline: `{result.baseline}`", ""]
    for f in result.findings:
        out += [f"## {f.severity}: {f.kind}", "", f"**{f.title}**", "", f.explanation, "",
                "| evidence | value | unit | source |", "|---|---|---|---|"]
        for e in f.evidence:
            v = f"{e.value:.4g}" if isinstance(e.value, float) else str(e.value)
            out.append(f"| {e.label} | {v} | {e.unit} | {e.source} |".replace("\n", " "))
        out += ["", f"Next: {f.next_step}", ""]
    if not result.findings:
        out.append("No findings.")
    return "\n".join(out) + "\n"


def cmd_triage(args, out=None) -> int:
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="perfkit-triage-") as tmp:
        archive = _resolve(args.archive, tmp, "archive", args.seconds)
        baseline = _resolve(args.baseline, tmp, "baseline", args.seconds) if args.baseline else None
        if args.output:
            from ..report.triage import triage_report      # papermill and nbconvert load slowly
            triage_report(archive, baseline, args.output)
            print(f"perfkit: wrote {args.output}", file=sys.stderr)
            return 0
        result = triage(archive, baseline)
    if args.format == "json":
        json.dump(result.as_dict(), out, indent=1)
        out.write("\n")
    elif args.format == "md":
        out.write(_markdown(result))
    else:
        width = terminal_width()
        out.write("\n".join(_table(result, width)) + "\n")
    return 0
