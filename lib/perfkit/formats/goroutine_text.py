"""Text goroutine dumps (`/debug/pprof/goroutine?debug=2`) and Go crash output.

Both become one goroutine DataFrame (GOROUTINE_COLUMNS), the same schema that
``goroutines_frame`` builds from a goroutine *profile*, so dumps, crashes and
profiles can be compared and summarised the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ProfileError
from ..model.frames import wait_site

GOROUTINE_COLUMNS = ["goroutine", "state", "wait_minutes", "count", "leaf", "where", "frames", "files",
                     "created_by", "creator_goroutine"]

_HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+)?(?: m=\S+)?(?: mp=\S+)? \[([^\]]*)\]:\s*$")
_FRAME = re.compile(r"^(\S.*?)(?:\((?:[^()]|\([^()]*\))*\))?$")
_FILE = re.compile(r"^\t(\S.*?):(\d+)(?: \+0x[0-9a-f]+)?(?: fp=.*)?$")
_CREATED = re.compile(r"^created by (\S+?)(?: in goroutine (\d+))?$")
_MINUTES = re.compile(r"(\d+) minutes?")
_FATAL = re.compile(r"^(fatal error|panic|runtime error|SIGQUIT|SIGSEGV|SIGABRT|unexpected signal|"
                    r"concurrent map [a-z ]+)[:\s]?.*$")


@dataclass
class Crash:
    """A crash: the first fatal line, any extra header lines, and the goroutines."""
    message: str
    header: list[str] = field(default_factory=list)
    goroutines: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def crashing(self) -> pd.Series | None:
        """The goroutine that was running when the process died (the first one printed)."""
        return self.goroutines.iloc[0] if len(self.goroutines) else None

    def summary(self) -> str:
        g = self.crashing
        where = f" in goroutine {g['goroutine']} at {g['where']}" if g is not None else ""
        return f"{self.message}{where} ({len(self.goroutines)} goroutines dumped)"


def parse_goroutines(text: str, source: str = "<dump>") -> pd.DataFrame:
    """Every `goroutine N [state]:` block of a text dump, one row each (count = 1)."""
    rows = []
    cur = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            if cur:
                rows.append(cur)
            state = m.group(2)
            wm = _MINUTES.search(state)
            cur = {"goroutine": int(m.group(1)), "state": state.split(",")[0].strip(),
                   "wait_minutes": int(wm.group(1)) if wm else 0, "frames": [], "files": [],
                   "created_by": "", "creator_goroutine": pd.NA}
            continue
        if cur is None or not line.strip():
            if cur is not None and not line.strip():
                rows.append(cur)
                cur = None
            continue
        c = _CREATED.match(line)
        if c:
            cur["created_by"] = c.group(1)
            cur["creator_goroutine"] = int(c.group(2)) if c.group(2) else pd.NA
            continue
        f = _FILE.match(line)
        if f:
            if cur["frames"] and len(cur["files"]) < len(cur["frames"]) and not cur["created_by"]:
                cur["files"].append(f"{f.group(1)}:{f.group(2)}")
            continue
        if line.startswith("...") or line.startswith("\t"):
            continue
        fm = _FRAME.match(line)
        if fm and not cur["created_by"]:
            cur["frames"].append(fm.group(1))
    if cur:
        rows.append(cur)
    if not rows:
        raise ProfileError(source, "no 'goroutine N [state]:' block found: not a goroutine dump or crash output")
    df = pd.DataFrame(rows)
    df["frames"] = df["frames"].map(tuple)
    df["files"] = df["files"].map(tuple)
    df["count"] = 1
    df["leaf"] = df["frames"].map(lambda f: f[0] if f else "")
    df["where"] = df["frames"].map(wait_site)
    return df[GOROUTINE_COLUMNS]


def parse_crash(text: str, source: str = "<crash>") -> Crash | None:
    """The crash in a process's output (stderr/log), or None when it holds none."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if _FATAL.match(l.strip()) and not l.startswith("\t")), None)
    if start is None:
        return None
    header = []
    for l in lines[start + 1:]:
        if _HEADER.match(l):
            break
        if l.strip():
            header.append(l.strip())
    try:
        gs = parse_goroutines("\n".join(lines[start:]), source)
    except ProfileError:
        gs = pd.DataFrame(columns=GOROUTINE_COLUMNS)
    return Crash(lines[start].strip(), header, gs)
