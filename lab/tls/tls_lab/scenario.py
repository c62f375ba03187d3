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

__all__ = ["Scenario", "ScenarioRun", "run_scenario"]


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
    CPU seconds). ``windows`` are the seconds the archive describes, from the archive itself: the CPU
    profile's start and duration, and the trace's duration ending when its last byte arrived; a starved
    admin listener delays them, never shifts what they cover. ``handshake_errors`` counts the server's
    ``http: TLS handshake error`` log lines over the whole run by class, the run's end included (when the
    hosts stop with handshakes in flight); rates come from the counters inside the windows."""

    scenario: Scenario
    archive_path: Path
    archive: object
    hosts: HostsReport
    counters: pd.DataFrame
    windows: dict
    handshake_errors: dict
    run_s: float
    warmup_s: float
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
        """The unix times the allocs profile can describe: Go publishes heap profiles at the end of a GC
        cycle and they may be up to two cycles old, so from the second-to-last GC before the snapshot to
        the last (the counters file records completed cycles every 100 ms)."""
        t_snap = self.windows["allocs"][0]
        c = self.counters[self.counters["t"] <= t_snap]
        if c.empty:
            return self.hosts.started_unix, t_snap
        last = c["gc_cycles"].iloc[-1]
        # a cycle's end lies between the last line before its count went up and the first line after
        ends = c["t"][c["gc_cycles"].diff() > 0]
        prev = c["t"][(c["gc_cycles"].diff() > 0) & (c["gc_cycles"] < last)]
        hi = float(ends.iloc[-1]) if len(ends) else t_snap
        lo = float(prev.iloc[-1]) if len(prev) else self.hosts.started_unix
        return lo - 0.1, hi

    def host_rates(self, step: str = "trace") -> pd.Series:
        """The simulated hosts' counts per second over a window."""
        return self.hosts.rates(*self.window(step))


def run_scenario(scenario: Scenario, out_dir: str | Path, *, cpu_seconds: float = 4.0, trace_seconds: float = 1.0,
                 warmup_s: float | None = None, gomaxprocs: int | None = None, server_cpus: str | None = None,
                 hosts_cpus: str | None = None, force: bool = False) -> ScenarioRun:
    """Run one scenario and collect its debug archive into ``out_dir`` (new or empty unless ``force``).

    Warm-up: connection-reusing modes wait one check-in interval plus a second, so every host holds a
    connection or a session ticket before measuring; churn waits 2 s. The simulator is stopped once the
    archive is in, and its run is bounded anyway (warm-up, collection and a margin).
    """
    if warmup_s is None:
        warmup_s = 2.0 if scenario.mode == "churn" else scenario.interval_s + 1.0
    out = Path(out_dir)
    budget = warmup_s + cpu_seconds + trace_seconds + 30.0
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
                            mode=scenario.mode, handshake_timeout=scenario.timeout_s, duration=budget,
                            taskset=hosts_cpus)
        sim.start()
        try:
            time.sleep(warmup_s)

            def progress(msg: str) -> None:
                for name in ("trace (", "allocs"):
                    if f"] {name}" in msg and not msg.endswith("..."):
                        done[name.split(" ")[0]] = time.time()
            try:
                archive = perfkit.collect(server.admin_url + "/debug/pprof", out, cpu_seconds=cpu_seconds,
                                          trace_seconds=trace_seconds, force=force, progress=progress)
            except PerfkitError as e:
                raise TLSLabError(scenario.name, f"collecting the debug archive failed: {e}") from None
            hosts = sim.finish()
        finally:
            sim.close()
    finally:
        server.stop()
        stop.set()
        sampler.join(5)
    if archive.trace is None or "trace" not in done or "allocs" not in done or not archive.cpu.time_nanos:
        raise TLSLabError(out, "the archive lacks its CPU profile or trace: " + "; ".join(archive.problems))
    trace_s = perfkit.read_trace(archive.trace).duration_ns / 1e9
    p0 = archive.cpu.time_nanos / 1e9
    windows = {"profile": (p0, p0 + archive.cpu.duration_seconds), "trace": (done["trace"] - trace_s, done["trace"]),
               "allocs": (done["allocs"], done["allocs"])}
    if len(server.counters) < 2:
        raise TLSLabError(scenario.name, "the server's counters file has fewer than two lines")
    return ScenarioRun(scenario=scenario, archive_path=out, archive=archive, hosts=hosts, counters=server.counters,
                       windows=windows,
                       handshake_errors=dict(server.handshake_errors), run_s=time.time() - started,
                       warmup_s=warmup_s, machine=pd.DataFrame(samples, columns=["t", "busy", "total"]))
