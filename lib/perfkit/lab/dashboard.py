"""Grafana dashboard helpers: every PromQL expression, with Grafana variables substituted."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import PerfkitError

__all__ = ["load_dashboard", "dashboard_exprs"]


def load_dashboard(path) -> dict:
    """A Grafana dashboard JSON file as a dict."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise PerfkitError(path, f"not a readable dashboard JSON file: {e}") from e


def _panels(panels):
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def dashboard_exprs(dashboard: dict, *, rate_interval="10s", variables: dict | None = None):
    """``(panel title, refId, expr)`` for every Prometheus target of every panel, with
    ``$__rate_interval``/``$__interval``/``$__range`` replaced by ``rate_interval``
    and template variables by ``variables`` (default: each variable's current value)."""
    d = dashboard
    vals = {}
    for v in d.get("templating", {}).get("list", []):
        cur = v.get("current", {}).get("value")
        if isinstance(cur, list):
            cur = "|".join(cur)
        vals[v["name"]] = cur if cur not in (None, "$__all") else ".*"
    vals.update(variables or {})
    out = []
    for p in _panels(d.get("panels", [])):
        for t in p.get("targets", []):
            expr = t.get("expr")
            if not expr:
                continue
            e = re.sub(r"\$__(rate_interval|interval|range)\b", rate_interval, expr)
            for k, v in sorted(vals.items(), key=lambda kv: -len(kv[0])):
                e = e.replace("${" + k + "}", str(v)).replace("$" + k, str(v))
            out.append((p.get("title", ""), t.get("refId", ""), e))
    return out
