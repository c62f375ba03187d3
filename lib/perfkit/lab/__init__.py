"""Service-testing tooling for any HTTP service, on top of the library.

Start and stop a Go server on free loopback ports (:class:`GoServer`, built on
demand with :func:`build_go_binary`), headless Locust runs, open-model load
(:func:`open_load`, a constant arrival rate) and capacity search with both models (Locust always runs in child processes: importing this package never imports
Locust), chaos primitives (kill -9 / SIGTERM through ``GoServer``,
:class:`FaultProxy`, :func:`cpu_starved`), a real Prometheus
(:class:`PrometheusServer`, :class:`PromAPI`) and promtool checks.
"""
from .capacity import (WRK_DONE, CapacityResult, WorkerPlan, capacity_search, open_capacity_search, plan_workers,
                       wrk_run)
from .chaos import ChaosResult, chaos_verdict, cpu_starved, http_ok, latency_summary, median_shift
from .dashboard import dashboard_exprs, load_dashboard
from .locust import LocustResult, run_locust
from .cpu import CpuMeter, machine_cpu_time, process_cpu_seconds, usable_cores
from .openload import OpenLoadResult, bottleneck, loadgen_binary, open_load
from .ports import LOOPBACK_HOSTS, free_port, host_port, port_open
from .process import GoServer, ServerProcessError, build_go_binary, lab_cache_dir
from .prometheus import PromAPI, PrometheusError, PrometheusServer, find_prometheus_tool, generate_config
from .promtool import CheckResult, PromtoolError, alert_table, burn_rate_tiers, promtool_check
from .proxy import FaultProxy, ProxyStats

__all__ = ["GoServer", "ServerProcessError", "build_go_binary", "lab_cache_dir",
           "free_port", "host_port", "port_open", "LOOPBACK_HOSTS",
           "LocustResult", "run_locust", "OpenLoadResult", "open_load", "loadgen_binary", "bottleneck",
           "process_cpu_seconds", "CpuMeter", "usable_cores", "machine_cpu_time", "open_capacity_search", "WorkerPlan", "plan_workers",
           "CapacityResult", "capacity_search", "wrk_run", "WRK_DONE",
           "ChaosResult", "chaos_verdict", "median_shift", "latency_summary", "http_ok", "cpu_starved", "FaultProxy", "ProxyStats",
           "PrometheusServer", "PromAPI", "PrometheusError", "generate_config", "find_prometheus_tool",
           "promtool_check", "PromtoolError", "CheckResult", "alert_table", "burn_rate_tiers",
           "dashboard_exprs", "load_dashboard"]
