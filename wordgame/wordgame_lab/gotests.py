"""Run the wordgame server's Go tests (`go test -json`) and summarise them as a DataFrame."""
from __future__ import annotations

import json
import subprocess

import pandas as pd

from perfkit import find_go

from .server import WordgameError, source_dir


def go_tests(src=None, *, race: bool = True, fuzz_seconds: float = 0, timeout: float = 900) -> pd.DataFrame:
    """One row per Go test of the wordgame module (package, test, outcome, seconds); fuzz run appended
    when asked. ``src``: the module (default: :func:`~wordgame_lab.server.source_dir`). ``attrs["race"]``
    says whether the race detector was on.

    ``fuzz_seconds`` > 0 also runs FuzzGuessHandler for that long (its seed
    corpus always runs as a plain test).
    """
    src = source_dir(src)
    cmd = [find_go(), "test", "-json", "-count=1", *(["-race"] if race else []), "./..."]
    rows = _run(cmd, src, timeout)
    if fuzz_seconds > 0:
        fz = _run([find_go(), "test", "-json", "-run=^$", "-fuzz=FuzzGuessHandler",
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



def pyramid_table(go: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """The test layers: Go tests (and fuzz seeds) from :func:`go_tests`, and the black-box contract and
    hardening groups from a black-box run's findings; tests and passed per layer."""
    fuzz = go["test"] == "FuzzGuessHandler"

    def group(name):
        g = findings[findings["group"] == name]
        return len(g), int((g["outcome"] == "passed").sum())
    rows = [("Go unit and handler tests" + (" (-race)" if go.attrs.get("race") else ""), len(go),
             int((go["outcome"] == "pass").sum()),
             "rules, status codes, CORS, rejected requests change nothing, eviction, metrics, shutdown"),
            ("Go fuzz seeds (FuzzGuessHandler)", int(fuzz.sum()), int((fuzz & (go["outcome"] == "pass")).sum()),
             "seed corpus every run; `make test` also fuzzes for 10 s"),
            ("black-box contract", *group("contract"), "the documented API and rules (the original passes these too)"),
            ("black-box hardening", *group("hardening"), "one test per defect class, crash-prone tests last")]
    return pd.DataFrame(rows, columns=["layer", "tests", "passed", "what it covers"])
