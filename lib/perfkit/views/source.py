"""Source lines of one function: its hottest lines with a few lines of context, when the files exist locally."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import OptionError
from ..model.filter import Filters, checked_options
from ..model.profile import Profile
from .top import top

SOURCE_COLUMNS = ["file", "line", "flat", "cum", "hot", "text"]


def _locate(path: str, source_dirs) -> Path | None:
    """The file itself, or under one of source_dirs by the longest tail of its path that exists."""
    p = Path(path)
    if p.is_file():
        return p
    parts = [x for x in p.parts if x not in ("/", "")]
    for d in source_dirs:
        for k in range(len(parts)):
            c = Path(d).joinpath(*parts[k:])
            if c.is_file():
                return c
    return None


@checked_options
def source_lines(profile: Profile, sample_index=None, *, function: str, hottest: int = 5, context: int = 2,
                 source_dirs=(), filters: Filters | None = None) -> pd.DataFrame:
    """The ``hottest`` lines of ``function`` (by cum, from ``top(granularity="lines")``), each with ``context``
    lines around it, read from the local file (or one found under ``source_dirs``).

    Columns: file, line, flat, cum (0 on context lines), hot (a profiled line), text. Lines of files that are
    not found locally are left out; ``df.attrs["missing"]`` lists those files.
    """
    if hottest < 1 or context < 0:
        raise OptionError(profile.source, "source_lines(): hottest must be >= 1 and context >= 0")
    t = top(profile, sample_index, granularity="lines", filters=filters)
    prefix = function + " "
    t = t[t["name"].str.startswith(prefix)]
    rows, missing, hot = [], [], {}
    for name, flat, cum in zip(t["name"], t["flat"], t["cum"]):
        loc = name[len(prefix):]
        file, _, num = loc.rpartition(":")
        if not file or not num.isdigit():
            continue
        a = hot.setdefault(file, {}).setdefault(int(num), [0, 0])
        a[0] += int(flat)
        a[1] += int(cum)
    ranked = sorted(((c[1], f, ln) for f, lines in hot.items() for ln, c in lines.items()), reverse=True)[:hottest]
    wanted: dict[str, set[int]] = {}
    for _, f, ln in ranked:
        wanted.setdefault(f, set()).update(range(max(1, ln - context), ln + context + 1))
    for f in sorted(wanted):
        path = _locate(f, source_dirs)
        if path is None:
            missing.append(f)
            continue
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            missing.append(f)
            continue
        for ln in sorted(wanted[f]):
            if ln > len(text):
                continue
            fc = hot[f].get(ln)
            rows.append((f, ln, fc[0] if fc else 0, fc[1] if fc else 0, fc is not None, text[ln - 1]))
    df = pd.DataFrame(rows, columns=SOURCE_COLUMNS)
    df.attrs.update(function=function, missing=missing, unit=t.attrs.get("unit", ""), source=profile.source,
                    files={f: str(_locate(f, source_dirs) or "") for f in wanted})
    return df
