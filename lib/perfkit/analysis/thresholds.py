"""The triage detectors' thresholds: one documented table, overridable by name.

Each value follows from the runtime or protocol mechanism it measures (its ``why``), not from one archive.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..errors import OptionError


@dataclass(frozen=True)
class Threshold:
    """One detector threshold: the kind it belongs to, its name, value and unit, and why that value."""
    kind: str
    name: str
    value: float
    unit: str
    why: str


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("cpu-saturation", "cpu_saturation_medium", 0.7, "of GOMAXPROCS",
              "Above ~70 % busy Ps, queueing delay grows quickly (M/M/c): a burst finds every P busy."),
    Threshold("cpu-saturation", "cpu_saturation_high", 0.9, "of GOMAXPROCS",
              "At ~90 % of GOMAXPROCS the process has no headroom left: more load only adds latency."),
    Threshold("cpu-starvation", "starvation_medium", 0.3, "of the Ps' running time",
              "A running goroutine whose thread waits 30 % of its time in the kernel's run queue takes 1.4x its "
              "CPU time in wall time: every request on that P is slowed as much."),
    Threshold("cpu-starvation", "starvation_high", 0.6, "of the Ps' running time",
              "At 60 % without CPU, wall time is 2.5x CPU time: GOMAXPROCS is well above the CPU the process "
              "gets."),
    Threshold("cpu-starvation", "starvation_min_ps", 0.25, "Ps",
              "Below a quarter of a P running on average there is too little running time for the comparison "
              "of two windows to mean anything."),
    Threshold("tls-handshakes", "tls_share_medium", 10.0, "% of CPU",
              "A full handshake costs ~1-2 ms of CPU (a private-key signature) against tens of µs for a request "
              "on a reused connection; 10 % means handshakes already cost as much as a large part of the work."),
    Threshold("tls-handshakes", "tls_share_high", 25.0, "% of CPU",
              "A quarter of all CPU in handshakes means connections are set up far more often than requests "
              "need: the dominant cost is the signature, not the service."),
    Threshold("connection-churn", "churn_accepts_per_s", 10.0, "1/s",
              "Ten new connections a second, each paying TCP (and usually TLS) setup, is where the setup cost "
              "becomes measurable in a CPU profile (10 x ~2 ms = 2 % of a core with RSA)."),
    Threshold("connection-churn", "churn_requests_per_conn_high", 5.0, "requests",
              "Keep-alive clients reuse a connection for hundreds of requests; below 5 nearly every request "
              "pays connection setup, so the setup dominates. Compared with the low end of the estimate's "
              "95 % interval: the allocation profile samples few connections."),
    Threshold("connection-churn", "churn_requests_per_conn_medium", 20.0, "requests",
              "Below 20 requests per connection the per-connection cost is still a few % of the per-request "
              "cost: reuse is poor but not dominant."),
    Threshold("gc-pressure", "gc_share_medium", 10.0, "% of CPU",
              "With GOGC=100 a healthy service spends a few % of CPU in GC; 10 % is well above that."),
    Threshold("gc-pressure", "gc_share_high", 25.0, "% of CPU",
              "The background mark workers are budgeted at 25 % of GOMAXPROCS while a cycle runs; more GC "
              "CPU than that means GC runs nearly all the time and assists take CPU from the program."),
    Threshold("lock-contention", "lock_cpu_medium", 5.0, "% of CPU",
              "Spinning and handing off in sync.(*Mutex).lockSlow / runtime.semacquire costs CPU only under "
              "contention; 5 % there means a lock is fought over."),
    Threshold("lock-contention", "lock_cpu_high", 20.0, "% of CPU",
              "A fifth of the CPU spent acquiring locks means the lock, not the work, limits throughput."),
    Threshold("lock-contention", "lock_waiters_medium", 1.0, "goroutines",
              "By Little's law the goroutines waiting on a mutex on average (over the trace window, from its sync "
              "blocking spans) equal the waiting time per second; one waiter means the lock is held-and-wanted "
              "about all the time. Without a trace the goroutine profile gives one instant, which cannot show that "
              "the waiting lasts, so it raises the finding to medium at most."),
    Threshold("lock-contention", "lock_waiters_high_per_p", 1.0, "x GOMAXPROCS",
              "As many lock waiters on average as Ps: the program could run that many goroutines in parallel but "
              "the lock serialises them."),
    Threshold("goroutine-leak", "leak_goroutines_medium", 1000.0, "goroutines",
              "Steady state is about one goroutine per connection or worker; a thousand parked at one site that "
              "is not a network wait means work is started and not finished."),
    Threshold("goroutine-leak", "leak_goroutines_high", 10000.0, "goroutines",
              "Ten thousand parked goroutines hold at least 20 MiB of stacks and everything they reference."),
    Threshold("goroutine-leak", "leak_site_share", 50.0, "% of goroutines",
              "A leak parks its goroutines at one site; half of all goroutines at one site is the signature."),
    Threshold("goroutine-leak", "leak_growth", 2.0, "x baseline",
              "Against a baseline, a doubled count at the same site is growth, not fluctuation."),
    Threshold("syscall-heavy", "syscall_share_medium", 30.0, "% of CPU",
              "Each syscall costs ~0.1-1 µs plus the kernel's work; 30 % of CPU in syscalls means many small "
              "reads/writes (no buffering) or busy polling."),
    Threshold("syscall-heavy", "syscall_share_high", 50.0, "% of CPU",
              "More CPU in the kernel boundary than in Go code, on a busy process."),
    Threshold("syscall-heavy", "busy_for_high", 0.25, "of GOMAXPROCS",
              "On a nearly idle server most CPU is network syscalls by nature; the share only matters when the "
              "process uses a quarter of its Ps or more."),
    Threshold("blocking-io", "syscall_goroutines_medium", 1.0, "x GOMAXPROCS",
              "Goroutines in blocking syscalls each hold an OS thread; as many as Ps means the runtime must "
              "create threads to keep running Go code."),
    Threshold("scheduler-latency", "sched_p99_medium_ms", 1.0, "ms",
              "Runnable goroutines normally get a P within microseconds; a p99 of 1 ms means run queues build."),
    Threshold("scheduler-latency", "sched_p99_high_ms", 10.0, "ms",
              "10 ms is the scheduler's preemption slice: waiting a whole slice means more runnable work than "
              "Ps."),
    Threshold("hot-function", "hot_flat_medium", 25.0, "% of CPU",
              "One function (outside the runtime) with a quarter of all CPU in its own code is a clear target."),
    Threshold("hot-function", "hot_flat_low", 10.0, "% of CPU",
              "10 % flat in one function is worth a look (pprof's -top usually spreads below 5 %)."),
    Threshold("*", "min_cores", 0.05, "cores",
              "Below 5 % of one core the process is nearly idle: shares of a tiny total are not a problem, "
              "so severities are capped at low."),
)


def resolve_thresholds(overrides: Mapping[str, float] | None = None, source: str = "triage") -> dict[str, float]:
    """name -> value of THRESHOLDS with ``overrides`` applied; an unknown name raises OptionError."""
    values = {t.name: float(t.value) for t in THRESHOLDS}
    for name, v in (overrides or {}).items():
        if name not in values:
            raise OptionError(source, f"unknown threshold {name!r} (known: {', '.join(values)})")
        values[name] = float(v)
    return values


def thresholds_frame() -> pd.DataFrame:
    """THRESHOLDS as a DataFrame: kind, name, value, unit, why."""

    return pd.DataFrame([t.__dict__ for t in THRESHOLDS], columns=["kind", "name", "value", "unit", "why"])
