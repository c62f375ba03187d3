"""Helpers every CLI command uses: reading a profile, the filter options, output tables."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from ..errors import PerfkitError
from ..formats.pprof import read_profile
from ..model.filter import FILTER_HELP, Filters
from ..model.profile import Profile
from ..views.nodes import GRANULARITIES

FORMATS = ("table", "csv", "json")
ELLIPSIS = "…"
MIN_NAME_WIDTH = 12


def read_profile_arg(path: str) -> Profile:
    """The one way commands read a profile. An empty profile is read (block and mutex profiles often
    are empty); commands then show empty results."""
    if os.path.isdir(path):
        raise PerfkitError(path, "is a directory: pass one profile file, e.g. "
                           f"{os.path.join(path, 'profile')} (or use `perfkit archive`)")
    return read_profile(path, allow_empty=True)


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """--focus, --ignore, ... one per field of Filters."""
    g = parser.add_argument_group("filters (pprof semantics)")
    for name, text in FILTER_HELP.items():
        g.add_argument(f"--{name}", metavar="REGEX", help=f"{text} (pprof's -{name})")


def filters_from_args(args: argparse.Namespace) -> Filters:
    return Filters(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Filters)})


def add_sample_index(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample-index", metavar="NAME", help="sample type (default: the profile's default)")


def add_granularity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--granularity", choices=GRANULARITIES, default="functions")


def terminal_width() -> int:
    """$COLUMNS, else the terminal's width, else 80."""
    return shutil.get_terminal_size((80, 24)).columns


def shorten_middle(text: str, width: int) -> str:
    """text cut to width by replacing its middle with '…' (the end, a function's own name, keeps more)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = (width - 1) // 3
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + text[len(text) - tail:]


@dataclass(frozen=True)
class Column:
    """One right-aligned column of a text table: header and how to format a cell."""
    header: str
    source: str
    format: Callable[[object], str]


def percent(v) -> str:
    return "" if pd.isna(v) else f"{v:.2f}%"


def text_table(df: pd.DataFrame, columns: Sequence[Column], name: str = "name", name_header: str = "",
               width: int | None = None) -> list[str]:
    """Lines of a table like `go tool pprof -top`: value columns right-aligned, then the name column
    left-aligned and last, shortened in the middle so every line fits ``width``."""
    width = terminal_width() if width is None else width
    cells = [[c.format(v) for v in df[c.source]] for c in columns]
    widths = [max([len(c.header)] + [len(s) for s in col]) for c, col in zip(columns, cells)]
    lead = sum(widths) + len(widths)           # one space after every value column
    room = max(width - lead - 1, MIN_NAME_WIDTH)
    head = " ".join(c.header.rjust(w) for c, w in zip(columns, widths))
    lines = [f"{head}  {name_header}".rstrip()]
    for i, label in enumerate(df[name].astype(str)):
        vals = " ".join(col[i].rjust(w) for col, w in zip(cells, widths))
        lines.append(f"{vals}  {shorten_middle(label, room)}")
    return lines


def write_records(df: pd.DataFrame, fmt: str, out=None) -> None:
    """csv (every row, raw values) or json ({"attrs": scalars, "rows": records})."""
    out = out or sys.stdout
    if fmt == "csv":
        df.to_csv(out, index=False, float_format="%.6f", lineterminator="\n")
    else:
        json.dump({"attrs": {k: v for k, v in df.attrs.items() if isinstance(v, (str, int, float, type(None)))},
                   "rows": json.loads(df.to_json(orient="records"))}, out, indent=1)
        out.write("\n")


def write_lines(lines: Sequence[str], width: int | None = None, out=None) -> None:
    """Print lines, each shortened in the middle to ``width`` (default: the terminal's)."""
    width = terminal_width() if width is None else width
    out = out or sys.stdout
    out.write("\n".join(shorten_middle(s, width) for s in lines) + "\n")
