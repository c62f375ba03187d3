"""Investigation helpers built on the views: facts a narrative can cite.

Tables are DataFrames; multi-part results are small frozen dataclasses.
"""
from .compare import CPUChange, FunctionChange, cpu_change, function_change, subsystem_change
from .detectors import DETECTORS, triage
from .findings import KINDS, SEVERITIES, Evidence, Finding, Triage
from .hotpath import hot_path
from .thresholds import THRESHOLDS, Threshold
from .nethttp import (CONNECTION_STATES, AllocationCount, HandshakeCost, RequestsPerConnection, TLSHandshakes,
                      TraceConnections, allocation_count, call_count, compare_connection_states, connection_states,
                      handshake_cost, poisson_interval, requests_per_connection, tls_handshakes,
                      trace_connections)
from .runtime_info import RuntimeInfo, runtime_info
from .tls_cost import compare_to_signatures, signature_costs
from .handshake_bench import handshake_costs

__all__ = ["CPUChange", "FunctionChange", "cpu_change", "function_change", "subsystem_change", "hot_path",
           "CONNECTION_STATES", "AllocationCount", "HandshakeCost", "RequestsPerConnection", "TLSHandshakes",
           "TraceConnections", "allocation_count", "call_count", "compare_connection_states", "connection_states",
           "handshake_cost", "poisson_interval", "requests_per_connection", "tls_handshakes",
           "trace_connections", "RuntimeInfo", "runtime_info", "compare_to_signatures",
           "signature_costs", "handshake_costs", "DETECTORS", "triage", "KINDS", "SEVERITIES", "Evidence", "Finding", "Triage",
           "THRESHOLDS", "Threshold"]
