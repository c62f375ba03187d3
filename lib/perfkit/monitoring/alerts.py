"""The alert rules and how their promtool unit tests exercise them, as a table."""
from __future__ import annotations

import pandas as pd
import yaml

from .prometheus import monitoring_dir


def alert_table(directory=None) -> pd.DataFrame:
    """One row per alert: severity, for, summary, and how many test cases expect it firing / silent."""
    d = monitoring_dir() if directory is None else directory
    alerts = []
    for f in sorted((d / "rules").glob("*.yml")):
        for group in (yaml.safe_load(f.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    alerts.append(rule)
    firing: dict[str, int] = {}
    silent: dict[str, int] = {}
    for f in sorted((d / "tests").glob("*.yml")):
        for test in (yaml.safe_load(f.read_text()) or {}).get("tests", []):
            for case in test.get("alert_rule_test", []):
                name = case.get("alertname")
                bucket = firing if case.get("exp_alerts") else silent
                bucket[name] = bucket.get(name, 0) + 1
    return pd.DataFrame([{
        "alert": r["alert"],
        "severity": (r.get("labels") or {}).get("severity", ""),
        "for": r.get("for", ""),
        "summary": (r.get("annotations") or {}).get("summary", ""),
        "tests firing": firing.get(r["alert"], 0),
        "tests silent": silent.get(r["alert"], 0),
    } for r in alerts])
