"""promtool checks (check config, check rules, test rules) and a table of alert rules and their unit tests."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..errors import PerfkitError
from .prometheus import find_prometheus_tool

__all__ = ["PromtoolError", "CheckResult", "promtool_check", "alert_table"]


class PromtoolError(PerfkitError):
    """A promtool check failed."""


@dataclass(frozen=True)
class CheckResult:
    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _paths(files, base: Path) -> list[str]:
    return [Path(f).resolve().relative_to(base).as_posix() for f in files]


def promtool_check(config: str | os.PathLike | None = None, rules: Sequence = (), tests: Sequence = (), *,
                   raise_on_error: bool = True, timeout: float = 120) -> list[CheckResult]:
    """``promtool check config`` on ``config``, ``check rules`` on ``rules`` and ``test rules`` on
    ``tests`` (each only when given). Relative paths inside the files resolve from each file's folder.

    Returns one :class:`CheckResult` per command; raises :class:`PromtoolError`
    (with promtool's output) on the first failure unless ``raise_on_error`` is false.
    """
    promtool = find_prometheus_tool("promtool")
    files = [*([config] if config is not None else []), *rules, *tests]
    if not files:
        raise PromtoolError("promtool", "nothing to check: give a config, rule files or test files")
    # run in the files' common folder with relative names, so commands and messages stay short
    base = Path(os.path.commonpath([str(Path(f).resolve().parent) for f in files]))
    commands = []
    if config is not None:
        commands.append([promtool, "check", "config", *_paths([config], base)])
    if rules:
        commands.append([promtool, "check", "rules", *_paths(rules, base)])
    if tests:
        commands.append([promtool, "test", "rules", *_paths(tests, base)])
    results = []
    for cmd in commands:
        r = subprocess.run(cmd, cwd=base, capture_output=True, text=True, timeout=timeout)
        res = CheckResult(cmd[1:], r.returncode, (r.stdout + r.stderr).strip())
        results.append(res)
        if raise_on_error and not res.ok:
            raise PromtoolError(base / cmd[-1], f"promtool {' '.join(cmd[1:3])} failed:\n{res.output}")
    return results


def _yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise PromtoolError(path, f"cannot read: {e}") from e


def alert_table(rules: Sequence, tests: Sequence = ()) -> pd.DataFrame:
    """One row per alert in the rule files: severity, for, summary, and how many cases of the
    promtool unit-test files expect it firing / silent."""
    alerts = [rule for f in rules for group in _yaml(f).get("groups", []) for rule in group.get("rules", [])
              if "alert" in rule]
    firing: dict[str, int] = {}
    silent: dict[str, int] = {}
    for f in tests:
        for test in _yaml(f).get("tests", []):
            for case in test.get("alert_rule_test", []):
                bucket = firing if case.get("exp_alerts") else silent
                bucket[case.get("alertname")] = bucket.get(case.get("alertname"), 0) + 1
    return pd.DataFrame([{
        "alert": r["alert"],
        "severity": (r.get("labels") or {}).get("severity", ""),
        "for": r.get("for", ""),
        "summary": (r.get("annotations") or {}).get("summary", ""),
        "tests firing": firing.get(r["alert"], 0),
        "tests silent": silent.get(r["alert"], 0),
    } for r in alerts], columns=["alert", "severity", "for", "summary", "tests firing", "tests silent"])
