"""The triage contract: what a detector reports (Finding, Evidence) and the whole result (Triage).

Scripts depend on these names and on the fixed vocabularies ``SEVERITIES`` and ``KINDS``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

SEVERITIES = ("high", "medium", "low", "info")          # sort order
KINDS = ("cpu-saturation", "cpu-starvation", "tls-handshakes", "connection-churn", "gc-pressure", "lock-contention",
         "goroutine-leak", "syscall-heavy", "blocking-io", "scheduler-latency", "hot-function",
         "profiling-disabled")


@dataclass(frozen=True)
class Evidence:
    """One number or function name a finding rests on, with the archive member it comes from."""
    label: str
    value: float | str
    unit: str
    source: str

    def as_dict(self) -> dict:
        v = self.value
        if hasattr(v, "item"):                      # numpy scalars
            v = v.item()
        if isinstance(v, float) and v != v:         # NaN is not JSON
            v = None
        return {"label": self.label, "value": v, "unit": self.unit, "source": self.source}


@dataclass(frozen=True)
class Finding:
    """What one detector concluded: kind, severity, a one-line title with the key number, the
    evidence, the mechanism, and what to collect or change next."""
    kind: str
    severity: str
    title: str
    evidence: tuple[Evidence, ...]
    explanation: str
    next_step: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "title": self.title,
                "evidence": [e.as_dict() for e in self.evidence],
                "explanation": self.explanation, "next_step": self.next_step}


def finding_order(f: Finding) -> tuple[int, int, str]:
    """Sort key: severity (high first), then kind in KINDS order."""
    return (SEVERITIES.index(f.severity), KINDS.index(f.kind) if f.kind in KINDS else len(KINDS), f.title)


@dataclass(frozen=True)
class Triage:
    """Every finding for one archive (and its baseline), sorted by severity, then kind."""
    archive: str
    baseline: str | None
    findings: tuple[Finding, ...]

    def frame(self) -> pd.DataFrame:
        """kind, severity, title: one row per finding."""
        return pd.DataFrame([{"kind": f.kind, "severity": f.severity, "title": f.title} for f in self.findings],
                            columns=["kind", "severity", "title"])

    def as_dict(self) -> dict:
        """The CLI's JSON contract: {"archive", "baseline", "findings": [...]}."""
        return {"archive": self.archive, "baseline": self.baseline,
                "findings": [f.as_dict() for f in self.findings]}

    def of_kind(self, kind: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == kind)

    def _repr_html_(self) -> str:
        return f"<p><b>{self.archive}</b></p>" + self.frame().to_html(index=False)
