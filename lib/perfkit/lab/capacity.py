"""Capacity search (step the offered Locust load up until p99 exceeds a threshold or errors appear),
and single wrk runs (a far cheaper load generator than Locust, for a server's real ceiling)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import pandas as pd

from ..errors import PerfkitError, ToolMissingError
from .locust import run_locust

__all__ = ["CapacityResult", "capacity_search", "wrk_run", "WRK_DONE"]


@dataclass(frozen=True)
class CapacityResult:
    steps: pd.DataFrame           # one row per load step: users, requests, failures, rps, p50_ms, p99_ms, max_ms
    threshold_p99_ms: float
    knee: pd.Series | None        # the last step within the threshold and without failures (None: not even the first)
    saturated: bool               # a step crossed the threshold

    def as_dict(self) -> dict:
        """The knee as plain JSON-able values (what ``perfkit wordgame capacity`` prints)."""
        return {"threshold_p99_ms": self.threshold_p99_ms, "knee": {} if self.knee is None else self.knee.to_dict(),
                "saturated": self.saturated}


def capacity_search(locustfile, target: str, *, steps=(5, 10, 20, 40, 80), step_seconds: float = 5,
                    p99_ms: float = 50, workers: int = 0, max_steps: int = 10, env: dict | None = None
                    ) -> CapacityResult:
    """Run ``locustfile`` at each user count in ``steps`` (``step_seconds`` each) until p99 exceeds
    ``p99_ms`` or a request fails."""
    rows = []
    for users in list(steps)[:max_steps]:
        r = run_locust(locustfile, target, users=users, spawn_rate=max(users, 1), duration=step_seconds,
                       workers=workers, env=env)
        s = r.summary()
        rows.append({"users": users, **s})
        if s["p99_ms"] > p99_ms or s["failures"]:
            break
    df = pd.DataFrame(rows)
    ok = df[(df["p99_ms"] <= p99_ms) & (df["failures"] == 0)]
    return CapacityResult(df, float(p99_ms), ok.iloc[-1] if len(ok) else None, len(ok) < len(df))


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
    arrives. Returns rps, latency percentiles in ms (wrk's exact histogram), non-2xx and socket
    errors. ``taskset`` pins wrk to these CPUs."""
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
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    finally:
        os.unlink(f.name)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise PerfkitError("wrk", f"no summary (exit {r.returncode}): {r.stderr[-500:]} {r.stdout[-500:]}")
    d = json.loads(line[len("WRKJSON "):])
    dur = d["duration_us"] / 1e6
    return {"generator": "wrk", "script": name, "connections": connections, "threads": threads,
            "requests": d["requests"], "seconds": round(dur, 3), "rps": round(d["requests"] / dur, 1),
            "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
            "max_ms": d["max_us"] / 1000, "mean_ms": round(d["mean_us"] / 1000, 3), "non2xx": d["status"],
            "socket_errors": d["connect"] + d["read"] + d["write"] + d["timeout"]}
