"""promtool checks (check config, check rules, test rules) and a table of alert rules and their unit tests."""
from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..errors import OptionError, PerfkitError
from ..metrics.parse import seconds
from .prometheus import find_prometheus_tool

__all__ = ["PromtoolError", "CheckResult", "promtool_check", "alert_table", "burn_rate_tiers"]


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


def _alerts(rules: Sequence) -> list[dict]:
    return [rule for f in rules for group in _yaml(f).get("groups", []) for rule in group.get("rules", [])
            if "alert" in rule]


def alert_table(rules: Sequence, tests: Sequence = ()) -> pd.DataFrame:
    """One row per alert in the rule files: severity, for, summary, and how many cases of the
    promtool unit-test files expect it firing / silent."""
    alerts = _alerts(rules)
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


# `<recorded ratio><window> > (<burn rate> * <budget>)`, e.g. `job:slo_errors:ratio_rate1h > (14.4 * 0.001)`
_BURN = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*?(\d+(?:ms|s|m|h|d|w|y))\b\s*>\s*\(?\s*"
                   r"(\d+(?:\.\d+)?)\s*\*\s*(\d+(?:\.\d+)?(?:e-?\d+)?)\s*\)?")


def _human_seconds(s: float) -> str:
    for unit, n, below in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, 259200)):
        if s < below:
            return f"{s / n:.3g} {unit}"
    return f"{s / 86400:.3g} d"


def burn_rate_tiers(rules: Sequence, *, period="30d") -> pd.DataFrame:
    """The multiwindow burn-rate conditions of the alerts in ``rules``: one row per alert and
    burn rate, for expressions written as ``<ratio><window> > (<burn rate> * <budget>)`` (the
    long and the short window of one tier share the threshold; an ``or`` of tiers gives one
    row per tier).

    Columns: alert, severity, slo (the alert's ``slo`` label, if any), objective, budget,
    burn_rate, long_window, short_window (as written), budget_spent (share of the ``period``'s
    error budget spent when the long window first reaches the threshold), exhausted_in and
    total_outage_detected_in (readable, with their ``*_s`` seconds: how long the budget lasts at
    that burn rate; how long a total outage takes to fire the tier).
    """
    try:
        period_s = seconds(period)
    except ValueError as e:
        raise OptionError("period", str(e)) from e
    rows = []
    for a in _alerts(rules):
        tiers: dict[tuple[float, float], list[str]] = {}
        for window, factor, budget in _BURN.findall(str(a.get("expr", ""))):
            tiers.setdefault((float(factor), float(budget)), []).append(window)
        for (factor, budget), windows in tiers.items():
            by_len = sorted(set(windows), key=seconds)
            long_s = seconds(by_len[-1])
            exhausted = period_s / factor
            outage = factor * budget * long_s          # a 100 % bad ratio reaches the threshold
            labels = a.get("labels") or {}
            rows.append({"alert": a["alert"], "severity": labels.get("severity", ""), "slo": labels.get("slo", ""),
                         "objective": 1 - budget, "budget": budget, "burn_rate": factor,
                         "long_window": by_len[-1], "short_window": by_len[0] if len(by_len) > 1 else "",
                         "budget_spent": factor * long_s / period_s,
                         "exhausted_in": _human_seconds(exhausted), "exhausted_in_s": exhausted,
                         "total_outage_detected_in": _human_seconds(outage), "total_outage_detected_in_s": outage})
    cols = ["alert", "severity", "slo", "objective", "budget", "burn_rate", "long_window", "short_window",
            "budget_spent", "exhausted_in", "exhausted_in_s", "total_outage_detected_in",
            "total_outage_detected_in_s"]
    return pd.DataFrame(rows, columns=cols)
