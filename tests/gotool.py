"""Run `go tool pprof` as an independent oracle and parse its -top output."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

RAW_UNIT = {"nanoseconds": "nanoseconds", "bytes": "bytes", "count": "count"}
_VAL = re.compile(r"^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)([a-zA-Z]*)$")
_INLINE = re.compile(r" \((?:partial-)?inline\)$")


def go() -> str:
    return shutil.which("go") or "/usr/local/go/bin/go"


def pprof_top(path: str | Path, unit: str, *args: str, duplicates: bool = False
              ) -> tuple[dict[str, tuple[int, int]], dict]:
    """{name: (flat, cum)} and header facts from `go tool pprof -top` with no pruning.

    With duplicates=True, rows sharing a name are folded into (sum of flat,
    max of cum): pprof -files splits a file per function start line on
    profiles from Go >= 1.20.
    """
    cmd = [go(), "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0",
           "-edgefraction=0", f"-unit={unit}", *args, str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr}")
    rows: dict[str, tuple[int, int]] = {}
    header: dict = {}
    started = False
    for line in out.stdout.splitlines():
        if not started:
            m = re.search(r"of (-?\d+)\S* total", line)
            if m:
                header["total"] = int(m.group(1))
            if line.split()[:2] == ["flat", "flat%"]:
                started = True
            continue
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        flat, cum = (_num(parts[0]), _num(parts[3]))
        name = _INLINE.sub("", parts[5])
        if name in rows and duplicates:
            rows[name] = (rows[name][0] + flat, max(rows[name][1], cum))
            continue
        if name in rows:
            raise AssertionError(f"duplicate node {name!r} in go tool pprof output")
        rows[name] = (flat, cum)
    return rows, header


def _num(text: str) -> int:
    m = _VAL.match(text)
    if not m:
        raise ValueError(f"cannot parse pprof value {text!r}")
    v = float(m.group(1))
    if v != int(v):
        raise ValueError(f"non-integer pprof value {text!r}: pass a raw -unit")
    return int(v)


def pprof_peek_edges(path: str | Path, unit: str, *args: str) -> dict[tuple[str, str], int]:
    """{(caller, callee): weight} from `go tool pprof -peek .` (every node's context)."""
    cmd = [go(), "tool", "pprof", "-peek", ".", "-nodecount=1000000", "-nodefraction=0",
           "-edgefraction=0", f"-unit={unit}", *args, str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr}")
    edges: dict[tuple[str, str], int] = {}
    block: list[str] = []
    for line in out.stdout.splitlines() + ["-----+"]:
        if line.startswith("-----") and "+" in line:
            _peek_block(block, edges)
            block = []
        elif "|" in line:
            block.append(line)
    return edges


def _peek_block(lines: list[str], edges: dict) -> None:
    focus_at = next((i for i, l in enumerate(lines) if not l.split("|")[0].strip().endswith("%")
                     or len(l.split("|")[0].split()) > 2), None)
    # the focus line carries flat, flat%, sum%, cum, cum% before '|'
    focus_at = next((i for i, l in enumerate(lines) if len(l.split("|")[0].split()) == 5), None)
    if focus_at is None:
        return
    focus = _INLINE.sub("", lines[focus_at].split("|", 1)[1].strip())
    for i, l in enumerate(lines):
        if i == focus_at:
            continue
        left, right = l.split("|", 1)
        parts = left.split()
        if len(parts) != 2:
            continue
        w = _num(parts[0])
        other = _INLINE.sub("", right.strip())
        key = (other, focus) if i < focus_at else (focus, other)
        edges[key] = w
