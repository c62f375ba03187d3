"""The TLS lab: reproduce a Go HTTPS server's handshake storm on loopback (certificate key type ×
connection reuse × client handshake timeout), pull debug archives from it with perfkit, and check
perfkit's estimators against what really happened.

Case-specific by design (it models osquery hosts checking in to a Fleet-like server); it drives the
library only through its public API.
"""
from .binaries import SRC_ENV, TLSLabError, lab_binaries, lab_source
from .charts import scenario_chart
from .estimates import (EOF_VANISHED, SIGNATURE_ROWS, HandshakeTruth, KitEstimates, find_run, fix_table, handshake_truth,
                        kit_estimates, scenario_table, shape_table, sign_ms, validation_table)
from .grid import REQUESTS_PER_CHECKIN, hosts_for_load, offered_load, run_grid, scenario_grid
from .hosts import MODE_LABELS, MODES, HostSimulator, HostsReport, read_hosts_report
from .scenario import RAMP_INTERVALS, Scenario, ScenarioRun, run_scenario
from .server import (COUNTER_COLUMNS, HANDSHAKE_ERROR, MEM_PROFILE_RATE, KEY_LABELS, KEY_TYPES, TLSLabServer, count_handshake_errors,
                     handshake_error_class, read_counters)

__all__ = ["TLSLabError", "SRC_ENV", "lab_source", "lab_binaries",
           "TLSLabServer", "KEY_TYPES", "KEY_LABELS", "HANDSHAKE_ERROR", "handshake_error_class",
           "count_handshake_errors", "read_counters", "COUNTER_COLUMNS", "MEM_PROFILE_RATE",
           "HostSimulator", "HostsReport", "read_hosts_report", "MODES", "MODE_LABELS",
           "Scenario", "ScenarioRun", "run_scenario", "RAMP_INTERVALS",
           "scenario_grid", "run_grid", "offered_load", "hosts_for_load", "REQUESTS_PER_CHECKIN", "find_run", "shape_table",
           "KitEstimates", "kit_estimates", "EOF_VANISHED", "HandshakeTruth", "handshake_truth", "scenario_table",
           "validation_table", "fix_table", "sign_ms", "SIGNATURE_ROWS",
           "scenario_chart"]
