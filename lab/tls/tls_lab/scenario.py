"""One lab scenario end to end: start the server, let the hosts check in, pull a debug archive from the
admin port with ``perfkit.collect`` while counting what really happened, stop everything."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import perfkit
from perfkit.errors import PerfkitError
from perfkit.lab import machine_cpu_time

from .binaries import TLSLabError
from .hosts import MODE_LABELS, HostSimulator, HostsReport
from .server import KEY_LABELS, TLSLabServer

__all__ = ["Scenario", "ScenarioRun", "run_scenario", "RAMP_INTERVALS"]


@dataclass(frozen=True)
class Scenario:
    """One cell of the grid: certificate key, connection behaviour, client handshake timeout (0 = off),
    session tickets on the server, and the simulated fleet (hosts checking in every ``interval`` s)."""

    key: str
    mode: str
    timeout_s: float = 0.0
    hosts: int = 1000
    interval_s: float = 5.0
    tickets: bool = True

    @property
    def name(self) -> str:
        t = f"timeout {self.timeout_s:g} s" if self.timeout_s else "no timeout"
        return f"{self.mode} · {KEY_LABELS[self.key]} · {t}" + ("" if self.tickets else " · tickets off")

    @property
    def slug(self) -> str:
        return f"{self.mode}-{self.key}-t{self.timeout_s:g}" + ("" if self.tickets else "-notickets")

    def describe(self) -> dict:
        return {"scenario": self.name, "key": KEY_LABELS[self.key], "connections": MODE_LABELS[self.mode],
                "client timeout s": self.timeout_s, "tickets": self.tickets, "hosts": self.hosts,
                "interval s": self.interval_s}


@dataclass(frozen=True)
class ScenarioRun:
    """A finished scenario: the collected ``archive`` (a perfkit DebugArchive), the hosts' ground truth,
    and the server's own ``counters`` (every 100 ms: accepts, handshakes, handshake errors, requests, its
    CPU seconds). ``windows`` are the seconds the archive describes: the CPU profile from its recorded
    start for the seconds asked of it (Go's handler samples that long; the duration the profile records
    also counts the wait of its writer goroutine, seconds on a saturated server), and the trace's duration
    ending when its last byte arrived; a starved admin listener delays them, never shifts what they
    cover. ``handshake_errors`` counts the server's ``http: TLS handshake error`` log lines over the whole
    run by class, the run's end included (when the hosts stop with handshakes in flight); rates come from
    the counters inside the windows."""

    scenario: Scenario
    archive_path: Path
    archive: object
    hosts: HostsReport
    counters: pd.DataFrame
    windows: dict
    handshake_errors: dict
    run_s: float
    warmup_s: float              # the warm-up's real length
    machine: pd.DataFrame        # t, busy, total: the whole machine's CPU ticks (/proc/stat) every 100 ms

    def machine_busy(self, step: str = "profile") -> float:
        """Share of the whole machine's CPU in use over a window (every process: server, hosts, the rest)."""
        t0, t1 = self.window(step)
        m = self.machine
        busy, total = (np.interp([t0, t1], m["t"], m[c]) for c in ("busy", "total"))
        return float((busy[1] - busy[0]) / (total[1] - total[0])) if total[1] > total[0] else float("nan")

    def window(self, step: str) -> tuple[float, float]:
        """(start, end) unix seconds of ``profile``, ``trace`` or ``measured`` (profile start to trace end)."""
        if step == "measured":
            return self.windows["profile"][0], self.windows["trace"][1]
        return self.windows[step]

    def server_rates(self, step: str = "profile") -> pd.Series:
        """The server's counters per second over a window (see :meth:`window`), and ``cores``: its CPU
        seconds per second. Counter values at the window's edges are interpolated between lines."""
        t0, t1 = self.window(step)
        c = self.counters
        at = {col: np.interp([t0, t1], c["t"], c[col]) for col in c.columns if col != "t"}
        out = pd.Series({col: (v[1] - v[0]) / max(t1 - t0, 1e-9) for col, v in at.items() if col != "gc_cycles"})
        return out.rename({"cpu_seconds": "cores"})

    def heap_profile_span(self) -> tuple[float, float]:
        """The unix times the allocs profile can describe. The lab collects with ``gc``: the server ran a
        garbage collection for the heap snapshot, which publishes the profile as of that collection, so
        from the heap request to the allocs answer (a GC of the server's own in between can only make the
        allocs profile newer). (Without it, Go publishes heap profiles at the end of a GC
        cycle and they may be up to two cycles old.)"""
        return self.windows["heap_gc"][0] - 0.1, self.windows["allocs"][1]

    def host_rates(self, step: str = "trace") -> pd.Series:
        """The simulated hosts' counts per second over a window."""
        return self.hosts.rates(*self.window(step))


RAMP_INTERVALS = 2.0        # reusing hosts make their first connections over this many check-in intervals
WARMUP_MARGIN_S = 15.0      # a reusing warm-up's bound past its ramp and one interval


def run_scenario(scenario: Scenario, out_dir: str | Path, *, cpu_seconds: float = 4.0, trace_seconds: float = 1.0,
                 warmup_s: float | None = None, gomaxprocs: int | None = None, server_cpus: str | None = None,
                 hosts_cpus: str | None = None, force: bool = False) -> ScenarioRun:
    """Run one scenario and collect its debug archive into ``out_dir`` (new or empty unless ``force``).

    Warm-up (``warmup_s=None``): churn waits 2 s. Connection-reusing modes measure their steady state, so
    their hosts make their first connections over :data:`RAMP_INTERVALS` check-in intervals (all at once,
    each first handshake of an overloaded fleet would saturate the server, and with a client timeout set
    off a retry storm that never settles), and the warm-up lasts until the ramp is over and the server has
    completed one full handshake per host (bounded: the ramp, one interval and :data:`WARMUP_MARGIN_S`). A number for
    ``warmup_s`` sleeps that long instead. ``ScenarioRun.warmup_s`` is the warm-up's real length. The
    simulator is stopped once the archive is in, and its run is bounded anyway.
    """
    reuse = scenario.mode != "churn"
    ramp = RAMP_INTERVALS * scenario.interval_s if reuse else 0.0
    bound = (ramp + scenario.interval_s + WARMUP_MARGIN_S) if reuse and warmup_s is None else (
        2.0 if warmup_s is None else warmup_s)
    out = Path(out_dir)
    budget = bound + cpu_seconds + trace_seconds + 30.0
    started = time.time()
    server = TLSLabServer(scenario.key, tickets=scenario.tickets, gomaxprocs=gomaxprocs, taskset=server_cpus)
    server.start()
    done: dict[str, float] = {}
    stop = threading.Event()
    samples: list[tuple[float, float, float]] = []

    def sample_machine() -> None:          # bounded: stops with the scenario, or after 10 minutes
        for _ in range(6000):
            samples.append((time.time(), *machine_cpu_time()))
            if stop.wait(0.1):
                break
    sampler = threading.Thread(target=sample_machine, daemon=True)
    sampler.start()
    try:
        sim = HostSimulator(server.url, server.cert_path, hosts=scenario.hosts, interval=scenario.interval_s,
                            mode=scenario.mode, handshake_timeout=scenario.timeout_s, duration=budget, ramp=ramp,
                            taskset=hosts_cpus)
        sim.start()
        try:
            warmed = time.monotonic()
            if reuse and warmup_s is None:
                _wait_for_first_handshakes(server, scenario.hosts, ramp, bound)
            else:
                time.sleep(bound)
            warmed = time.monotonic() - warmed

            def progress(msg: str) -> None:
                if "] heap ..." in msg:
                    done["heap_asked"] = time.time()
                for name in ("trace (", "allocs", "heap"):
                    if f"] {name}" in msg and not msg.endswith("..."):
                        done[name.split(" ")[0]] = time.time()
            try:       # gc: the heap and allocs profiles describe the end of the warm-up, not an older GC
                archive = perfkit.collect(server.admin_url + "/debug/pprof", out, cpu_seconds=cpu_seconds,
                                          trace_seconds=trace_seconds, force=force, progress=progress, gc=True)
            except PerfkitError as e:
                raise TLSLabError(scenario.name, f"collecting the debug archive failed: {e}") from None
            hosts = sim.finish()
        finally:
            sim.close()
    finally:
        server.stop()
        stop.set()
        sampler.join(5)
    if archive.trace is None or {"trace", "allocs", "heap"} - done.keys() or not archive.cpu.time_nanos:
        raise TLSLabError(out, "the archive lacks its CPU profile or trace: " + "; ".join(archive.problems))
    trace_s = perfkit.read_trace(archive.trace).duration_ns / 1e9
    p0 = archive.cpu.time_nanos / 1e9
    windows = {"profile": (p0, p0 + cpu_seconds), "trace": (done["trace"] - trace_s, done["trace"]),
               "allocs": (done["allocs"], done["allocs"]), "heap_gc": (done["heap_asked"], done["heap"])}
    if len(server.counters) < 2:
        raise TLSLabError(scenario.name, "the server's counters file has fewer than two lines")
    return ScenarioRun(scenario=scenario, archive_path=out, archive=archive, hosts=hosts, counters=server.counters,
                       windows=windows,
                       handshake_errors=dict(server.handshake_errors), run_s=time.time() - started,
                       warmup_s=warmed, machine=pd.DataFrame(samples, columns=["t", "busy", "total"]))


def _wait_for_first_handshakes(server: TLSLabServer, hosts: int, ramp_s: float, bound_s: float) -> None:
    """Until the ramp is over (every host has begun), the server has completed ``hosts`` full handshakes
    (each host's first connection) and one more second has passed; at most ``bound_s``."""
    deadline = time.monotonic() + bound_s
    time.sleep(min(ramp_s, bound_s))
    while time.monotonic() < deadline:
        if server.latest_counters().get("handshakes_full", 0) >= hosts:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            return
        time.sleep(0.1)
