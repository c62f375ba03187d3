"""Run the black-box suite (packaged in ``wordgame_lab/suite/``) against a URL and return the findings.

    >>> from wordgame_lab import run_blackbox
    >>> res = run_blackbox("http://127.0.0.1:8080", group="hardening")
    >>> res.findings          # DataFrame: test, file, group, outcome, finding, duration_s
    >>> print(res.table()); res.ok

Without a URL the suite starts the wordgame server itself (its conftest.py does:
binary from ``$WORDGAME_BIN``, or built from ``$WORDGAME_SRC``).
pytest runs in a subprocess, so a crashing target or a long run never takes
the caller down.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perfkit.errors import OptionError

GROUPS = ("contract", "hardening", "all")

__all__ = ["GROUPS", "BlackboxResult", "run_blackbox", "suite_dir"]


def suite_dir() -> Path:
    """The packaged black-box suite (a pytest directory with its own conftest.py and pytest.ini)."""
    return Path(__file__).resolve().parent / "suite"


@dataclass(frozen=True)
class BlackboxResult:
    findings: pd.DataFrame
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(len(self.findings)) and \
            set(self.findings["outcome"]) <= {"passed", "skipped"}

    @property
    def failures(self) -> pd.DataFrame:
        return self.findings[~self.findings["outcome"].isin(["passed", "skipped"])]

    def table(self, width: int = 110) -> str:
        df = self.findings
        if df.empty:
            return "(no tests ran)\n" + self.output[-3000:]
        lines = [f"{'test':<44} {'group':<9} {'outcome':<8} finding", "-" * width]
        for r in df.itertuples():
            text = r.finding if r.outcome != "passed" else ""
            lines.append(f"{r.test[:44]:<44} {r.group:<9} {r.outcome:<8} {text}")
        counts = df["outcome"].value_counts().to_dict()
        lines.append("-" * width)
        lines.append(", ".join(f"{v} {k}" for k, v in counts.items()))
        return "\n".join(lines)


def run_blackbox(url: str | None = None, *, group: str = "all", word: str | None = None, pid: int | None = None,
        admin_url: str | None = None, slow_timeout: float | None = None, ttl: float | None = None,
        examples: int | None = None, concurrency: str | None = None, extra_args=(), timeout: float = 900,
        verbose: bool = False) -> BlackboxResult:
    """Run the suite (contract, hardening or all) and collect one row per test."""
    if group not in GROUPS:
        raise OptionError("group", f"must be one of {GROUPS}, not {group!r}")
    with tempfile.TemporaryDirectory(prefix="wordgame-bb-") as tmp:
        out = Path(tmp) / "findings.json"
        cmd = [sys.executable, "-m", "pytest", str(suite_dir()), "-p", "wordgame_lab.findings",
               "--wordgame-findings", str(out), "-p", "no:cacheprovider", "-q", "-rN", "--no-header",
               "-o", "addopts=--timeout=600", "--rootdir", str(suite_dir())]
        if group != "all":
            cmd += ["-m", group]
        for flag, v in (("--wordgame-url", url), ("--wordgame-word", word), ("--wordgame-pid", pid),
                        ("--wordgame-admin-url", admin_url), ("--wordgame-slow-timeout", slow_timeout),
                        ("--wordgame-ttl", ttl), ("--wordgame-examples", examples),
                        ("--wordgame-concurrency", concurrency)):
            if v is not None:
                cmd += [flag, str(v)]
        cmd += list(extra_args)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        p = subprocess.run(cmd, capture_output=not verbose, text=True, timeout=timeout, env=env, cwd=tmp)
        rows = json.loads(out.read_text()) if out.exists() else []
    df = pd.DataFrame(rows, columns=["test", "file", "group", "outcome", "finding", "duration_s"])
    return BlackboxResult(df, p.returncode, (p.stdout or "") + (p.stderr or ""))
