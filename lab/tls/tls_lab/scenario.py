"""One lab scenario end to end: start the server, let the hosts check in, pull a debug archive from the
admin port with ``perfkit.collect`` while counting what really happened, stop everything."""
from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import perfkit
from perfkit.errors import PerfkitError
from perfkit.lab import process_cpu_seconds
from perfkit.metrics import parse_exposition

from .binaries import TLSLabError
from .hosts import MODE_LABELS, HostSimulator, HostsReport
from .server import KEY_LABELS, TLSLabServer

# server counters read at the edges of each collected window: column -> (metric, labels)
SERVER_COUNTERS = {
    "connections": ("tlslab_connections_accepted_total", {}),
    "handshakes_full": ("tlslab_handshakes_total", {"kind": "full"}),
    "handshakes_resumed": ("tlslab_handshakes_total", {"kind": "resumed"}),
    "errors_eof": ("tlslab_handshake_errors_total", {"error": "eof"}),
    "errors_reset": ("tlslab_handshake_errors_total", {"error": "reset"}),
    "errors_timeout": ("tlslab_handshake_errors_total", {"error": "timeout"}),
    "errors_other": ("tlslab_handshake_errors_total", {"error": "other"}),
    "requests": ("tlslab_requests_total", None),           # summed over routes and codes
}

__all__ = ["Scenario", "ScenarioRun", "run_scenario", "read_server_counters"]


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


def read_server_counters(metrics_url: str, timeout: float = 5.0) -> dict:
    """The lab server's counters (:data:`SERVER_COUNTERS`) and its process CPU seconds, now."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError as e:
        raise TLSLabError(metrics_url, f"cannot read the server's metrics ({e})") from None
    rows = parse_exposition(text, timestamp=time.time())
    out = {}
    for col, (metric, labels) in SERVER_COUNTERS.items():
        out[col] = sum(r["value"] for r in rows if r["metric"] == metric
                       and all(r.get(k) == v for k, v in (labels or {}).items()))
    out["cpu_seconds"] = sum(r["value"] for r in rows if r["metric"] == "process_cpu_seconds_total")
    return out


@dataclass(frozen=True)
class ScenarioRun:
    """A finished scenario: the collected ``archive`` (a perfkit DebugArchive), the hosts' ground truth,
    and ``marks``: the server's counters and CPU (from /proc) at the start and end of each collected
    window (``step`` = profile or trace). ``handshake_errors`` counts the server's
    ``http: TLS handshake error`` log lines over the whole run, by class, including the run's
    end, when the simulator stops with handshakes in flight; rates come from the server's counters
    of the same lines inside the measured windows."""

    scenario: Scenario
    archive_path: Path
    archive: object
    hosts: HostsReport
    marks: pd.DataFrame
    handshake_errors: dict
    run_s: float
    warmup_s: float
    machine: dict = field(default_factory=dict)

    def window(self, step: str) -> tuple[float, float]:
        """(start, end) unix seconds of a collected window."""
        m = self.marks[self.marks["step"] == step].set_index("edge")
        return float(m.loc["start", "t"]), float(m.loc["end", "t"])

    def server_rates(self, step: str = "profile") -> pd.Series:
        """Server counters per second over a window (``profile``, ``trace``, or ``measured``: from the
        profile's start to the trace's end), plus ``cores`` (process CPU from /proc per second)."""
        m = self.marks
        if step == "measured":
            a, b = m[(m["step"] == "profile") & (m["edge"] == "start")].iloc[0], m[
                (m["step"] == "trace") & (m["edge"] == "end")].iloc[0]
        else:
            sel = m[m["step"] == step].set_index("edge")
            a, b = sel.loc["start"], sel.loc["end"]
        d = b.drop(["step", "edge", "t"], errors="ignore").astype(float) - a.drop(
            ["step", "edge", "t"], errors="ignore").astype(float)
        out = d / max(float(b["t"] - a["t"]), 1e-9)
        return out.rename({"proc_cpu": "cores"}).drop("cpu_seconds")

    def host_rates(self, step: str = "trace") -> pd.Series:
        """The simulated hosts' counts per second over a window."""
        return self.hosts.rates(*self.window(step))


def _mark(server: TLSLabServer, step: str, edge: str) -> dict:
    return {"step": step, "edge": edge, "t": time.time(), **read_server_counters(server.admin_url + "/metrics"),
            "proc_cpu": process_cpu_seconds(server.pid)}


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
    marks: list[dict] = []
    try:
        sim = HostSimulator(server.url, server.cert_path, hosts=scenario.hosts, interval=scenario.interval_s,
                            mode=scenario.mode, handshake_timeout=scenario.timeout_s, duration=budget,
                            taskset=hosts_cpus)
        sim.start()
        try:
            time.sleep(warmup_s)
            step = {"name": None}

            def progress(msg: str) -> None:
                for name in ("profile", "trace"):
                    if f"] {name} (" in msg:
                        if msg.endswith("..."):
                            step["name"] = name
                            marks.append(_mark(server, name, "start"))
                        elif step["name"] == name:
                            marks.append(_mark(server, name, "end"))
                            step["name"] = None
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
    frame = pd.DataFrame(marks)
    if set(frame.get("step", [])) != {"profile", "trace"} or len(frame) != 4:
        raise TLSLabError(scenario.name, "the profile and trace windows were not both collected")
    return ScenarioRun(scenario=scenario, archive_path=out, archive=archive, hosts=hosts, marks=frame,
                       handshake_errors=dict(server.handshake_errors), run_s=time.time() - started,
                       warmup_s=warmup_s)
