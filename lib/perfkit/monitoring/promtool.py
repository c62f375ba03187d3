"""promtool checks for monitoring/: check config, check rules, test rules."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import PerfkitError
from .prometheus import find_tool, monitoring_dir


class PromtoolError(PerfkitError):
    """A promtool check failed."""


@dataclass
class CheckResult:
    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def promtool_check(directory=None, *, raise_on_error: bool = True, timeout: float = 120) -> list[CheckResult]:
    """Run ``promtool check config``, ``check rules`` and ``test rules`` on monitoring/.

    Returns one :class:`CheckResult` per command; raises :class:`PromtoolError`
    (with promtool's output) on the first failure unless ``raise_on_error`` is false.
    """
    d = Path(directory) if directory else monitoring_dir()
    promtool = find_tool("promtool")
    rules = sorted(str(p.relative_to(d)) for p in (d / "rules").glob("*.yml"))
    tests = sorted(str(p.relative_to(d)) for p in (d / "tests").glob("*.yml"))
    commands = [[promtool, "check", "config", "prometheus.yml"],
                [promtool, "check", "rules", *rules]]
    if tests:
        commands.append([promtool, "test", "rules", *tests])
    results = []
    for cmd in commands:
        r = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout)
        res = CheckResult(cmd[1:], r.returncode, (r.stdout + r.stderr).strip())
        results.append(res)
        if raise_on_error and not res.ok:
            raise PromtoolError(d, f"promtool {' '.join(cmd[1:])} failed:\n{res.output}")
    return results
