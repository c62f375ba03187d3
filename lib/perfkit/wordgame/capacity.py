"""Capacity search: step the offered load up until p99 exceeds a threshold or errors appear."""
from __future__ import annotations

import pandas as pd

from .load import run_load


def capacity_search(target: str, *, steps=(5, 10, 20, 40, 80), step_seconds: float = 5, p99_ms: float = 50,
                    workers: int = 0, max_steps: int = 10):
    """Returns (DataFrame one row per step, knee dict: the last step within the threshold)."""
    rows = []
    for users in list(steps)[:max_steps]:
        r = run_load(target, users=users, spawn_rate=max(users, 1), duration=step_seconds, workers=workers)
        s = r.summary()
        rows.append({"users": users, **s})
        if s["p99_ms"] > p99_ms or s["failures"]:
            break
    df = pd.DataFrame(rows)
    ok = df[(df["p99_ms"] <= p99_ms) & (df["failures"] == 0)]
    knee = ok.iloc[-1].to_dict() if len(ok) else {}
    return df, {"threshold_p99_ms": p99_ms, "knee": knee, "saturated": len(ok) < len(df)}


# -- wrk: a far cheaper load generator than Locust (C, epoll), for the server's real ceiling -----------
WRK_DONE = r'''
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
'''

WRK_SCRIPTS = {
    # every request POST /new
    "new": 'wrk.method = "POST"\nwrk.path = "/new"\n' + WRK_DONE,
    # players: POST /new, then guesses in letter-frequency order until the game is won or lost; every
    # response drives the next request of that game (per wrk thread: a queue of games waiting for a guess)
    "mix": r'''
local FREQ = "ETAOINSHRDLCUMWFGYPBVKJXQZ"
local queue, head, tail, nexti = {}, 1, 0, {}
local hdr = {["Content-Type"] = "application/json"}
function request()
  if head <= tail then
    local id = queue[head]; queue[head] = nil; head = head + 1
    local i = nexti[id] or 1
    nexti[id] = i + 1
    return wrk.format("POST", "/guess", hdr, '{"id":"' .. id .. '","guess":"' .. FREQ:sub(i, i) .. '"}')
  end
  return wrk.format("POST", "/new", nil, "")
end
function response(status, headers, body)
  if status ~= 200 then return end
  local id = body:match('"id":"([^"]+)"')
  local cur = body:match('"current":"([^"]*)"')
  local left = tonumber(body:match('"guesses_remaining":(%d+)'))
  if id and cur and left and cur:find("_") and left > 0 and (nexti[id] or 1) <= 26 then
    tail = tail + 1; queue[tail] = id
  elseif id then
    nexti[id] = nil
  end
end
''' + WRK_DONE,
}


def wrk_run(url: str, *, connections: int = 16, threads: int = 1, seconds: float = 5, script: str = "mix",
            taskset: str | None = None, timeout: str = "2s") -> dict:
    """One wrk run (closed loop: ``connections`` keep-alive connections, each sends its next request when
    the previous answer arrives). Returns rps, latency percentiles in ms (wrk's exact histogram, via a
    Lua ``done`` hook), non-2xx and socket errors. ``taskset`` pins wrk to these CPUs."""
    import json
    import shutil
    import subprocess
    import tempfile
    wrk = shutil.which("wrk")
    if wrk is None:
        from ..errors import ToolMissingError
        raise ToolMissingError("wrk", "Debian: apt-get install wrk")
    connections = int(min(max(connections, 1), 10_000))
    threads = int(min(max(threads, 1), connections))
    seconds = float(min(max(seconds, 1), 600))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPTS.get(script, script))
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{int(round(seconds))}s", f"--timeout={timeout}",
           "-s", f.name, url.rstrip("/") + "/"]
    if taskset:
        cmd = ["taskset", "-c", taskset, *cmd]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    finally:
        import os
        os.unlink(f.name)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary (exit {r.returncode}): {r.stderr[-500:]} {r.stdout[-500:]}")
    d = json.loads(line[len("WRKJSON "):])
    dur = d["duration_us"] / 1e6
    return {"generator": "wrk", "script": script, "connections": connections, "threads": threads,
            "requests": d["requests"], "seconds": round(dur, 3), "rps": round(d["requests"] / dur, 1),
            "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
            "max_ms": d["max_us"] / 1000, "mean_ms": round(d["mean_us"] / 1000, 3), "non2xx": d["status"],
            "socket_errors": d["connect"] + d["read"] + d["write"] + d["timeout"]}


def wrk_capacity_search(url: str, *, connections=(1, 2, 4, 8, 16, 32, 64, 128, 256), threads: int = 1,
                        seconds: float = 4, p99_ms: float = 50, script: str = "mix", taskset: str | None = None,
                        max_over: int = 2):
    """Step wrk's connection count; the knee is the highest throughput whose p99 < ``p99_ms`` with no
    errors. Stops after ``max_over`` consecutive steps over the threshold (and after the last step).
    Returns (DataFrame one row per step, knee dict)."""
    rows, over = [], 0
    for c in list(connections)[:20]:
        row = wrk_run(url, connections=c, threads=min(threads, c), seconds=seconds, script=script, taskset=taskset)
        rows.append(row)
        over = over + 1 if (row["p99_ms"] >= p99_ms or row["socket_errors"]) else 0
        if over >= max_over:
            break
    df = pd.DataFrame(rows)
    ok = df[(df["p99_ms"] < p99_ms) & (df["socket_errors"] == 0)]
    knee = ok.loc[ok["rps"].idxmax()].to_dict() if len(ok) else {}
    return df, {"threshold_p99_ms": p99_ms, "knee": knee, "saturated": len(ok) < len(df)}
