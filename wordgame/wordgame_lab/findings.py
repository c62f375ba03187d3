"""pytest plugin: collect one row per test (outcome + one-line finding) into a JSON file.

Loaded by the black-box runner with ``-p wordgame_lab.findings --wordgame-findings PATH``.
"""
from __future__ import annotations

import json


def pytest_addoption(parser):
    parser.addoption("--wordgame-findings", default=None, help="write the black-box findings as JSON here")


def _group(item) -> str:
    for m in ("hardening", "contract"):
        if item.get_closest_marker(m):
            return m
    return ""


def _one_line(rep) -> str:
    lr = rep.longrepr
    if lr is None:
        return ""
    if isinstance(lr, tuple):                      # skip: (path, line, reason)
        return str(lr[2]).removeprefix("Skipped: ")
    if isinstance(lr, str):
        return lr.strip().splitlines()[0] if lr.strip() else ""
    crash = getattr(getattr(lr, "reprcrash", None), "message", None)
    text = crash or str(lr)
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    first = lines[0].removeprefix("Failed: ")
    return first[:400]


class Collector:
    def __init__(self, path):
        self.path = path
        self.rows: dict[str, dict] = {}
        self.groups: dict[str, str] = {}

    def pytest_collection_modifyitems(self, items):
        for it in items:
            self.groups[it.nodeid] = _group(it)

    def pytest_runtest_logreport(self, report):
        row = self.rows.setdefault(report.nodeid, {
            "test": report.nodeid.split("::", 1)[-1], "file": report.nodeid.split("::")[0].rsplit("/", 1)[-1],
            "group": self.groups.get(report.nodeid, ""), "outcome": "passed", "finding": "", "duration_s": 0.0})
        row["duration_s"] += round(report.duration, 3)
        if report.skipped:
            msg = _one_line(report)
            row["outcome"] = "not run" if msg.startswith("not run") else "skipped"
            row["finding"] = msg
        elif report.failed:
            row["outcome"] = "failed" if report.when == "call" else f"error ({report.when})"
            row["finding"] = _one_line(report)

    def pytest_sessionfinish(self, session):
        with open(self.path, "w") as f:
            json.dump(list(self.rows.values()), f, indent=1)


def pytest_configure(config):
    path = config.getoption("--wordgame-findings")
    if path:
        config.pluginmanager.register(Collector(path), "wordgame-findings-collector")
