"""The wordgame's monitoring assets, shipped as package data in ``wordgame_lab/monitoring/``:
Prometheus config, recording and alert rules with their promtool unit tests, the Grafana
dashboard, Alertmanager config and a docker-compose stack. ``$WORDGAME_MONITORING`` (or a
``directory`` argument) points every function at another copy of that layout."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perfkit.lab import PrometheusServer, alert_table, burn_rate_tiers, dashboard_exprs, load_dashboard, promtool_check
from perfkit.metrics import Scraper

ENV_VAR = "WORDGAME_MONITORING"
JOB = "wordgame"

__all__ = ["ENV_VAR", "JOB", "monitoring_dir", "rule_files", "rule_test_files", "prometheus_config",
           "dashboard_path", "wordgame_dashboard_exprs", "check_monitoring", "wordgame_alerts", "wordgame_burn_rates",
           "wordgame_prometheus",
           "slo_section", "prometheus_p99", "Instrumentation", "instrumentation"]


def monitoring_dir(directory: str | os.PathLike | None = None) -> Path:
    """``directory``, else ``$WORDGAME_MONITORING``, else the package's own assets."""
    return Path(directory or os.environ.get(ENV_VAR) or Path(__file__).resolve().parent / "monitoring")


def rule_files(directory=None) -> list[Path]:
    return sorted((monitoring_dir(directory) / "rules").glob("*.yml"))


def rule_test_files(directory=None) -> list[Path]:
    return sorted((monitoring_dir(directory) / "tests").glob("*.yml"))


def prometheus_config(directory=None) -> Path:
    return monitoring_dir(directory) / "prometheus.yml"


def dashboard_path(directory=None) -> Path:
    return monitoring_dir(directory) / "grafana" / "dashboards" / "wordgame.json"


def wordgame_dashboard_exprs(directory=None, *, rate_interval="10s") -> list[tuple[str, str, str]]:
    """``(panel title, refId, expr)`` of every query of the wordgame dashboard."""
    return dashboard_exprs(load_dashboard(dashboard_path(directory)), rate_interval=rate_interval)


def check_monitoring(directory=None, *, raise_on_error: bool = True):
    """promtool check config, check rules and test rules on the assets (a list of CheckResult)."""
    return promtool_check(prometheus_config(directory), rule_files(directory), rule_test_files(directory),
                          raise_on_error=raise_on_error)


def wordgame_alerts(directory=None) -> pd.DataFrame:
    """One row per alert with the number of unit-test cases expecting it firing / silent."""
    return alert_table(rule_files(directory), rule_test_files(directory))


def wordgame_burn_rates(directory=None, *, period="30d") -> pd.DataFrame:
    """The burn-rate tiers of the wordgame alerts (``perfkit.lab.burn_rate_tiers``): one row per
    alert with its SLO, burn rate, windows, the share of the 30-day budget it lets go, how long the
    budget lasts at that rate and how long a total outage takes to fire it."""
    return burn_rate_tiers(rule_files(directory), period=period)


def wordgame_prometheus(admin_url: str, *, interval="1s", directory=None, **options) -> PrometheusServer:
    """A real Prometheus (not started) scraping the wordgame admin listener with the wordgame rules."""
    return PrometheusServer(admin_url, config=prometheus_config(directory), job=JOB, interval=interval, **options)


def prometheus_p99(prom: PrometheusServer, seconds: float, *, window: str = "5s") -> pd.DataFrame:
    """The server-side p99 over the last ``seconds`` from a running Prometheus, one row per second:
    timestamp, p99_ms."""
    end = time.time()
    q = prom.api.query_range("histogram_quantile(0.99, sum by (le) (rate(wordgame_http_request_duration_seconds_bucket"
                             f"[{window}])))", end - seconds, end, step="1s")
    return pd.DataFrame({"timestamp": q["timestamp"], "p99_ms": q["value"] * 1e3})


def slo_section(directory=None) -> str:
    """The SLO section of the monitoring README (markdown, from ``## SLOs`` to the next ``## ``)."""
    text = (monitoring_dir(directory) / "README.md").read_text()
    start = text.find("## SLOs")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


@dataclass(frozen=True)
class Instrumentation:
    own: pd.DataFrame          # wordgame_* metric families: family, type, series
    runtime_families: int      # go_* and process_* families


def instrumentation(admin_url: str, seconds: float = 1.0) -> Instrumentation:
    """What the server exports, from a short scrape of its admin listener."""
    fam = Scraper(admin_url, interval=0.5, job=JOB).run(seconds)
    own = fam[fam["family"].str.startswith("wordgame_")].groupby(["family", "type"]).size().reset_index(
        name="series")
    return Instrumentation(own, int(fam[fam["family"].str.match(r"^(go|process)_")]["family"].nunique()))
