"""Run the wordgame server's Go tests (`go test -json`) and summarise them as a DataFrame."""
from __future__ import annotations

import json
import subprocess

import pandas as pd

from ..paths import repo_root
from .server import WordgameError, go_binary


def go_tests(*, race: bool = True, fuzz_seconds: float = 0, timeout: float = 900) -> pd.DataFrame:
    """One row per Go test (package, test, outcome, seconds); fuzz run appended when asked.

    ``fuzz_seconds`` > 0 also runs FuzzGuessHandler for that long (its seed
    corpus always runs as a plain test).
    """
    src = repo_root() / "wordgame"
    cmd = [go_binary(), "test", "-json", "-count=1", *(["-race"] if race else []), "./..."]
    rows = _run(cmd, src, timeout)
    if fuzz_seconds > 0:
        fz = _run([go_binary(), "test", "-json", "-run=^$", "-fuzz=FuzzGuessHandler",
                   f"-fuzztime={fuzz_seconds:g}s", "./internal/server"], src, timeout + fuzz_seconds)
        for r in fz:
            if r["test"] == "FuzzGuessHandler":
                r["test"] = f"FuzzGuessHandler (fuzzing {fuzz_seconds:g} s)"
                rows.append(r)
    df = pd.DataFrame(rows, columns=["package", "test", "outcome", "seconds"])
    df.attrs["race"] = race
    return df


def _run(cmd, cwd, timeout) -> list[dict]:
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WordgameError(cwd, f"go test took longer than {timeout:g} s") from None
    rows = []
    for line in p.stdout.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("Test") and ev.get("Action") in ("pass", "fail", "skip") and "/" not in ev["Test"]:
            rows.append({"package": ev["Package"].rsplit("/", 1)[-1], "test": ev["Test"], "outcome": ev["Action"],
                         "seconds": float(ev.get("Elapsed", 0.0))})
    if p.returncode != 0 and not any(r["outcome"] == "fail" for r in rows):
        raise WordgameError(cwd, f"go test failed: {p.stderr.strip()[-800:]}")
    return rows


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Tests per package and outcome."""
    return df.pivot_table(index="package", columns="outcome", values="test", aggfunc="count", fill_value=0)
