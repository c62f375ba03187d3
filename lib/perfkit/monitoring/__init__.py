"""A real Prometheus for the wordgame server: start/stop it, query it, check its rules.

>>> from perfkit.monitoring import PrometheusServer
>>> with WordgameServer() as wg, PrometheusServer(wg.admin_url, interval="1s") as prom:
...     prom.api.query('rate(wordgame_http_requests_total[10s])')
"""
from .prometheus import PrometheusError, PrometheusServer, PromAPI, free_port, monitoring_dir, generate_config
from .promtool import CheckResult, PromtoolError, promtool_check
from .dashboard import dashboard_exprs, load_dashboard

__all__ = ["PrometheusServer", "PromAPI", "PrometheusError", "promtool_check", "PromtoolError", "CheckResult",
           "generate_config", "free_port", "monitoring_dir", "dashboard_exprs", "load_dashboard"]
