"""Capacity search with both load models: closed (step the Locust users up until p99 exceeds a
threshold or errors appear) and open (step a constant arrival rate up, latency from each request's
intended time); each step says which side was the bottleneck. Worker counts sized from a measured
per-worker ceiling, and single wrk runs (a far cheaper closed-loop generator than Locust)."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import resource
import tempfile
import time
from dataclasses import dataclass

import pandas as pd

from ..errors import PerfkitError, ToolMissingError
from .locust import run_locust
from .cpu import CpuMeter
from .openload import bottleneck, open_load

__all__ = ["CapacityResult", "capacity_search", "open_capacity_search", "WorkerPlan", "plan_workers", "wrk_run",
           "WRK_DONE"]


@dataclass(frozen=True)
class CapacityResult:
    steps: pd.DataFrame           # one row per load step (closed: users; open: rate), rps, p50_ms, p99_ms, ...,
                                  # generator_cpu_per_s, server_cpu_per_s, bottleneck
    threshold_p99_ms: float
    knee: pd.Series | None        # the last step within the threshold and without failures (None: not even the first)
    saturated: bool               # a step crossed the threshold
    model: str = "closed"         # "closed" (Locust users) or "open" (arrival rate, latency from intended time)

    @property
    def load_column(self) -> str:
        """The column of :attr:`steps` that was stepped: ``users`` or ``rate``."""
        return "users" if self.model == "closed" else "rate"

    def as_dict(self) -> dict:
        """The knee as plain JSON-able values (what ``perfkit wordgame capacity`` prints)."""
        return {"model": self.model, "threshold_p99_ms": self.threshold_p99_ms,
                "knee": {} if self.knee is None else self.knee.to_dict(), "saturated": self.saturated}


def _result(rows: list[dict], p99_ms: float, model: str, extra_ok=None) -> CapacityResult:
    df = pd.DataFrame(rows)
    good = (df["p99_ms"] <= p99_ms) & (df["failures"] == 0)
    if extra_ok is not None:
        good &= extra_ok(df)
    ok = df[good]
    return CapacityResult(df, float(p99_ms), ok.iloc[-1] if len(ok) else None, len(ok) < len(df), model)


def capacity_search(locustfile, target: str, *, steps=(5, 10, 20, 40, 80), step_seconds: float = 5,
                    p99_ms: float = 50, workers: int = 0, max_steps: int = 10, env: dict | None = None,
                    server_pid: int | None = None, server_metrics_url: str | None = None) -> CapacityResult:
    """Closed model: run ``locustfile`` at each user count in ``steps`` (``step_seconds`` each) until
    p99 exceeds ``p99_ms`` or a request fails. The server's CPU (``server_pid`` or its
    ``server_metrics_url``) and the busiest Locust process's CPU decide each step's bottleneck."""
    rows = []
    for users in list(steps)[:max_steps]:
        meter = CpuMeter(server_pid, server_metrics_url).start()
        r = run_locust(locustfile, target, users=users, spawn_rate=max(users, 1), duration=step_seconds,
                       workers=workers, env=env, server_pid=server_pid)
        s = r.summary()
        srv, machine = meter.rate(), r.cpu_of("machine")
        if server_pid:                           # sampled over the load phase only, not Locust's start-up
            srv = r.cpu_of("server")
        rows.append({"users": users, **s, "server_cpu_per_s": srv, "machine_busy": machine,
                     "bottleneck": bottleneck(s["generator_cpu_per_s"], 1, srv, meter.cores, machine_busy=machine)})
        if s["p99_ms"] > p99_ms or s["failures"]:
            break
    return _result(rows, p99_ms, "closed")


def open_capacity_search(target: str, scenario, *, rates=(500, 1000, 2000, 4000, 8000, 16000),
                         step_seconds: float = 5, p99_ms: float = 50, max_steps: int = 12,
                         server_pid: int | None = None, server_metrics_url: str | None = None,
                         max_inflight: int = 256, taskset: str | None = None) -> CapacityResult:
    """Open model: :func:`open_load` of ``scenario`` at each arrival rate in ``rates`` until p99
    (from the intended send time) exceeds ``p99_ms``, a request fails or an arrival is dropped."""
    rows = []
    for rate in list(rates)[:max_steps]:
        r = open_load(target, scenario, rate, step_seconds, max_inflight=max_inflight, taskset=taskset,
                      server_pid=server_pid, server_metrics_url=server_metrics_url)
        row = r.as_row()
        row["failures"] = row["failed"]
        row["rps"] = row["achieved_rps"]
        rows.append(row)
        if row["p99_ms"] > p99_ms or row["failures"] or row["dropped"]:
            break
    return _result(rows, p99_ms, "open", lambda df: df["dropped"] == 0)


@dataclass(frozen=True)
class WorkerPlan:
    target_rps: float
    per_worker_rps: float        # the measured ceiling of one worker process
    needed: int                  # ceil(target / per-worker ceiling)
    workers: int                 # needed, bounded by the cores
    cores: int
    bounded: bool                # the machine has fewer cores than the target needs: the generator will limit

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def plan_workers(target_rps: float, per_worker_rps: float, cores: int | None = None) -> WorkerPlan:
    """Workers for ``target_rps`` from a measured per-worker ceiling: ``ceil(target / ceiling)``, at most
    ``cores`` (default: this process's CPUs), at least 1."""
    if not per_worker_rps or per_worker_rps <= 0 or not math.isfinite(per_worker_rps):
        raise PerfkitError("plan_workers", f"per-worker ceiling must be a positive rate, not {per_worker_rps!r}")
    cores = int(cores or len(os.sched_getaffinity(0)))
    needed = max(1, math.ceil(target_rps / per_worker_rps))
    return WorkerPlan(float(target_rps), float(per_worker_rps), needed, min(needed, cores), cores, needed > cores)


#: A wrk Lua ``done`` hook printing the summary as one ``WRKJSON {...}`` line; end every wrk script with it.
WRK_DONE = r'''
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
'''


def wrk_run(url: str, script: str, *, connections: int = 16, threads: int = 1, seconds: float = 5,
            taskset: str | None = None, timeout: str = "2s", name: str = "") -> dict:
    """One wrk run of the Lua ``script`` (which must end with :data:`WRK_DONE`). Closed loop:
    ``connections`` keep-alive connections, each sends its next request when the previous answer
    arrives. Returns rps, latency percentiles in ms (wrk's histogram, which wrk back-fills after each
    slow response with samples spaced by the mean interval), non-2xx and socket errors, and wrk's CPU
    (``cpu_s``, ``cpu_per_s``: children's rusage around the run; other children reaped meanwhile
    would count too). ``taskset`` pins wrk to these CPUs."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise ToolMissingError("wrk", "Debian: apt-get install wrk")
    connections = int(min(max(connections, 1), 10_000))
    threads = int(min(max(threads, 1), connections))
    seconds = float(min(max(seconds, 1), 600))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{int(round(seconds))}s", f"--timeout={timeout}",
           "-s", f.name, url.rstrip("/") + "/"]
    if taskset:
        cmd = ["taskset", "-c", taskset, *cmd]
    ru0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    finally:
        os.unlink(f.name)
    ru1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - t0
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise PerfkitError("wrk", f"no summary (exit {r.returncode}): {r.stderr[-500:]} {r.stdout[-500:]}")
    d = json.loads(line[len("WRKJSON "):])
    dur = d["duration_us"] / 1e6
    return {"generator": "wrk", "script": name, "connections": connections, "threads": threads,
            "requests": d["requests"], "seconds": round(dur, 3), "rps": round(d["requests"] / dur, 1),
            "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
            "max_ms": d["max_us"] / 1000, "mean_ms": round(d["mean_us"] / 1000, 3), "non2xx": d["status"],
            "socket_errors": d["connect"] + d["read"] + d["write"] + d["timeout"],
            "cpu_s": round(cpu, 3), "cpu_per_s": round(cpu / max(wall, 1e-9), 3)}
