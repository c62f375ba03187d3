"""wordgame_lab: test, load, monitor and break the wordgame server, on top of perfkit.

The client and rule model, the packaged black-box suite (``run_blackbox``,
``perfkit wordgame test URL``), the deliberately defective reference server,
Locust and open-model load, capacity search with both models, chaos experiments, the wordgame metric frames
and charts, and the monitoring assets (package data).
"""
from .blackbox import BlackboxResult, run_blackbox, suite_dir
from .charts import capacity_chart, capacity_comparison_chart, chaos_chart, latency_comparison, load_overview
from .chaos import EXPERIMENTS, ChaosRun, run_all_chaos
from .client import Client, Reply
from .defective import DefectiveServer
from .defects import DEFECTS, defect_table
from .frames import games, red, runtime
from .gotests import go_tests, pyramid_table
from .load import (WORDGAME_SCENARIO, CapacityComparison, DistributedRun, LoadWithMetrics, ProfileUnderLoad,
                   compare_capacity, distributed_load, generator_ceilings, load_with_metrics, open_wordgame,
                   profile_under_load, run_load, wordgame_capacity, wordgame_open_capacity, wrk_wordgame)
from .model import FREQUENCY, GameModel, check_transition, is_finished
from .monitor import (Instrumentation, check_monitoring, instrumentation, monitoring_dir, prometheus_p99, slo_section,
                      wordgame_alerts, wordgame_burn_rates, wordgame_dashboard_exprs, wordgame_prometheus)
from .players import Recorder, play
from .server import DEFAULT_WORDS, WordgameError, WordgameServer, build_binary
from .words import find_words

__version__ = "0.1.0"

__all__ = ["WordgameServer", "WordgameError", "DEFAULT_WORDS", "build_binary", "find_words",
           "Client", "Reply", "GameModel", "FREQUENCY", "check_transition", "is_finished",
           "run_blackbox", "BlackboxResult", "suite_dir", "DefectiveServer", "DEFECTS", "defect_table",
           "go_tests", "pyramid_table",
           "run_load", "wordgame_capacity", "wrk_wordgame", "load_with_metrics", "LoadWithMetrics",
           "profile_under_load", "ProfileUnderLoad", "Recorder", "play", "WORDGAME_SCENARIO", "open_wordgame",
           "wordgame_open_capacity", "compare_capacity", "CapacityComparison", "generator_ceilings",
           "distributed_load", "DistributedRun", "capacity_comparison_chart",
           "run_all_chaos", "ChaosRun", "EXPERIMENTS",
           "red", "games", "runtime", "load_overview", "latency_comparison", "capacity_chart", "chaos_chart",
           "monitoring_dir", "check_monitoring", "wordgame_alerts", "wordgame_burn_rates", "wordgame_dashboard_exprs",
           "wordgame_prometheus", "prometheus_p99", "slo_section", "instrumentation", "Instrumentation"]
