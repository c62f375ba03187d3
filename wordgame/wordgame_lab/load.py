"""Load against the wordgame server: Locust runs with the wordgame locustfile, open-model runs with the
wordgame scenario, capacity search with both models, generator ceilings (Locust per process against wrk),
distributed Locust sized by measurement, wrk runs with wordgame scripts, and load combined with a
metrics scrape or a profile collection."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import perfkit
from perfkit.lab import (WRK_DONE, CapacityResult, CpuMeter, LocustResult, OpenLoadResult, WorkerPlan, bottleneck,
                         capacity_search, open_capacity_search, open_load, plan_workers, run_locust, wrk_run)
from perfkit.metrics import Scraper, select

from .frames import REQUESTS
from .model import FREQUENCY

LOCUSTFILE = Path(__file__).with_name("locustfile.py")

__all__ = ["LOCUSTFILE", "WRK_SCRIPTS", "WORDGAME_SCENARIO", "run_load", "wordgame_capacity", "wrk_wordgame",
           "open_wordgame", "wordgame_open_capacity", "CapacityComparison", "compare_capacity", "generator_ceilings",
           "DistributedRun", "distributed_load", "LoadWithMetrics", "load_with_metrics", "ProfileUnderLoad",
           "profile_under_load"]

#: The open-model scenario: POST /new puts the game id in the pool "games"; POST /guess takes an id and a
#: random letter, and puts the id back while the game goes on (a "_" left and guesses remaining).
WORDGAME_SCENARIO = {
    "name": "wordgame",
    "lists": {"letters": list(FREQUENCY)},
    "templates": [
        {"name": "/new", "weight": 1, "method": "POST", "path": "/new",
         "capture": {"pool": "games", "regex": r'"id":"([^"]+)"'}},
        {"name": "/guess", "weight": 8, "method": "POST", "path": "/guess", "take": "games",
         "headers": {"Content-Type": "application/json"}, "body": '{"id":"{{value}}","guess":"{{pick:letters}}"}',
         "put_back": r'"current":"[^"]*_[^"]*","guesses_remaining":[1-9]'},
    ],
}
#: POST /new only (the endpoint of the generator-ceiling comparison)
NEW_SCENARIO = {"name": "wordgame /new", "templates": [{"name": "/new", "weight": 1, "method": "POST", "path": "/new"}]}


def _env(think=(0.0, 0.0), abandon=0.1, invalid=0.02, new_only=False, user_rps=0.0) -> dict:
    # the locustfile imports wordgame_lab: make it importable in Locust's processes however we were found
    path = os.pathsep.join(p for p in (str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "WORDGAME_THINK_MIN": str(think[0]), "WORDGAME_THINK_MAX": str(think[1]),
            "WORDGAME_ABANDON": str(abandon), "WORDGAME_INVALID": str(invalid),
            "WORDGAME_NEW_ONLY": "1" if new_only else "0", "WORDGAME_USER_RPS": str(user_rps)}


def run_load(target: str, users: int = 10, spawn_rate: float = 10, duration: float = 10, *, workers: int = 0,
             think: tuple[float, float] = (0.0, 0.0), abandon: float = 0.1, invalid: float = 0.02,
             timeout: float | None = None, new_only: bool = False, taskset: str | None = None,
             user_rps: float = 0.0, server_pid: int | None = None) -> LocustResult:
    """Locust players (the wordgame locustfile) for ``duration`` seconds; ``workers`` > 0 runs a master
    and that many workers. ``new_only``: every user only sends ``POST /new`` (generator-ceiling
    comparisons with wrk). ``taskset``: pin every Locust process to these CPUs. ``user_rps`` > 0: each
    user plays at most that many games (``new_only``: requests) per second. ``server_pid``: the server's
    CPU is sampled with Locust's (a ``server`` row in ``processes``)."""
    return run_locust(LOCUSTFILE, target, users, spawn_rate, duration, workers=workers, timeout=timeout,
                      taskset=taskset, env=_env(think, abandon, invalid, new_only, user_rps), server_pid=server_pid)


def wordgame_capacity(target: str, *, steps=(5, 10, 20, 40, 80), step_seconds: float = 5, p99_ms: float = 50,
                      workers: int = 0, max_steps: int = 10, server_pid: int | None = None,
                      admin_url: str | None = None) -> CapacityResult:
    """Closed model: step the Locust players up until p99 exceeds ``p99_ms`` or a request fails. The
    server's CPU comes from ``server_pid`` or ``admin_url``'s /metrics."""
    return capacity_search(LOCUSTFILE, target, steps=steps, step_seconds=step_seconds, p99_ms=p99_ms,
                           workers=workers, max_steps=max_steps, env=_env(), server_pid=server_pid,
                           server_metrics_url=admin_url and admin_url.rstrip("/") + "/metrics")


def open_wordgame(target: str, rate: float, duration: float = 5, *, server_pid: int | None = None,
                  admin_url: str | None = None, scenario: dict | None = None, **options) -> OpenLoadResult:
    """:func:`perfkit.lab.open_load` of :data:`WORDGAME_SCENARIO` (or ``scenario``) at ``rate`` arrivals/s."""
    return open_load(target, scenario or WORDGAME_SCENARIO, rate, duration, server_pid=server_pid,
                     server_metrics_url=admin_url and admin_url.rstrip("/") + "/metrics", **options)


def wordgame_open_capacity(target: str, *, rates=(500, 1000, 2000, 4000, 8000, 16000), step_seconds: float = 5,
                           p99_ms: float = 50, max_steps: int = 12, server_pid: int | None = None,
                           admin_url: str | None = None, **options) -> CapacityResult:
    """Open model: step the arrival rate of :data:`WORDGAME_SCENARIO` until p99 from the intended send
    time exceeds ``p99_ms``, a request fails or an arrival is dropped."""
    return open_capacity_search(target, WORDGAME_SCENARIO, rates=rates, step_seconds=step_seconds, p99_ms=p99_ms,
                                max_steps=max_steps, server_pid=server_pid,
                                server_metrics_url=admin_url and admin_url.rstrip("/") + "/metrics", **options)


@dataclass(frozen=True)
class CapacityComparison:
    closed: CapacityResult        # Locust players, users stepped
    open: CapacityResult          # arrival rate stepped, latency from intended send time
    table: pd.DataFrame           # both models' steps in one table: model, load, rps, p50/p99, CPU, bottleneck
    closed_knee_rps: float        # NaN when even the first step failed
    open_knee_rps: float
    hidden_p99_ms: float          # at the first open step past the knee (else the knee): p99 from intended time
                                  # minus p99 from actual send, the latency a closed loop does not see
    hidden_at_rate: float


def compare_capacity(target: str, *, users=(5, 10, 20, 40, 80), rates=(500, 1000, 2000, 4000, 8000, 16000),
                     step_seconds: float = 5, p99_ms: float = 50, server_pid: int | None = None,
                     admin_url: str | None = None) -> CapacityComparison:
    """Both capacity searches against ``target``, one after the other, and their knees."""
    closed = wordgame_capacity(target, steps=users, step_seconds=step_seconds, p99_ms=p99_ms, server_pid=server_pid,
                               admin_url=admin_url)
    opened = wordgame_open_capacity(target, rates=rates, step_seconds=step_seconds, p99_ms=p99_ms,
                                    server_pid=server_pid, admin_url=admin_url)
    cols = ["model", "load", "rps", "p50_ms", "p99_ms", "p99_send_ms", "failures", "generator_cpu_per_s",
            "server_cpu_per_s", "bottleneck"]
    c = closed.steps.assign(model="closed", load=closed.steps["users"].map(lambda u: f"{u} users"))
    o = opened.steps.assign(model="open", load=opened.steps["rate"].map(lambda r: f"{r:g}/s"))
    table = pd.concat([c, o], ignore_index=True).reindex(columns=cols)
    past = opened.steps.iloc[len(opened.steps) - 1] if opened.saturated else opened.knee
    hidden = float(past["p99_ms"] - past["p99_send_ms"]) if past is not None else float("nan")
    knee = (lambda k: float(k["rps"]) if k is not None else float("nan"))
    return CapacityComparison(closed, opened, table, knee(closed.knee), knee(opened.knee), hidden,
                              float(past["rate"]) if past is not None else float("nan"))


def generator_ceilings(target: str, seconds: float = 5, *, users: int = 64, connections: int = 64,
                       workers: int = 2, taskset: str | None = None, order=("wrk", "locust")) -> pd.DataFrame:
    """The most each generator sends to ``POST /new`` of the same server, one after the other: wrk (one
    thread, ``connections``), Locust in one process (``users`` FastHttpUsers), and Locust with
    ``workers`` worker processes. One row each: generator, processes, rps, rps_per_process, p50_ms,
    p99_ms, generator_cpu_per_s (the busiest generating process; ~1.0 = that process is saturated).
    ``order``: which of wrk and the single Locust process runs first (interleave repeated runs)."""
    rows = []

    def locust(n):
        r = run_load(target, users=users, spawn_rate=users, duration=seconds, workers=n, new_only=True, taskset=taskset)
        s = r.summary()
        rows.append({"generator": "locust" if n == 0 else f"locust {n} workers", "processes": max(n, 1),
                     "rps": round(s["rps"], 1), "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
                     "failures": s["failures"], "generator_cpu_per_s": s["generator_cpu_per_s"]})

    for g in order:
        if g == "wrk":
            w = wrk_run(target, WRK_SCRIPTS["new"], connections=connections, seconds=seconds, taskset=taskset,
                        name="new")
            rows.append({"generator": "wrk", "processes": 1, "rps": w["rps"], "p50_ms": w["p50_ms"],
                         "p99_ms": w["p99_ms"], "failures": w["non2xx"] + w["socket_errors"],
                         "generator_cpu_per_s": w["cpu_per_s"]})
        else:
            locust(0)
    if workers:
        locust(workers)
    df = pd.DataFrame(rows)
    df.insert(3, "rps_per_process", (df["rps"] / df["processes"]).round(1))
    df["saturated"] = df["generator_cpu_per_s"] >= 0.9
    return df


@dataclass(frozen=True)
class DistributedRun:
    plan: WorkerPlan              # workers = ceil(target / measured per-worker ceiling), bounded by the cores
    load: LocustResult            # the run (POST /new users, constant throughput spread over them)
    achieved_rps: float
    server_cpu_per_s: float
    server_cores: int
    machine_busy: float           # share of the machine's CPU in use (every process on it)
    bottleneck: str               # perfkit.lab.bottleneck: generator, server, shared CPU or neither

    def as_dict(self) -> dict:
        p = self.load.processes
        return {**self.plan.as_dict(), "achieved_rps": self.achieved_rps, "server_cpu_per_s": self.server_cpu_per_s,
                "server_cores": self.server_cores, "machine_busy": round(self.machine_busy, 3),
                "worker_cpu_per_s": p.loc[p["role"] == "worker", "cpu_per_s"].tolist() if len(p) else [],
                "bottleneck": self.bottleneck}


def distributed_load(target: str, target_rps: float, per_worker_rps: float, duration: float = 5, *,
                     users_per_worker: int = 32, server_pid: int | None = None, admin_url: str | None = None,
                     cores: int | None = None) -> DistributedRun:
    """Distributed Locust sized by measurement (:func:`perfkit.lab.plan_workers`): POST /new users,
    ``target_rps`` spread over them, and which side was the bottleneck."""
    plan = plan_workers(target_rps, per_worker_rps, cores)
    users = plan.workers * users_per_worker
    meter = CpuMeter(server_pid, admin_url and admin_url.rstrip("/") + "/metrics").start()
    r = run_load(target, users=users, spawn_rate=users, duration=duration, workers=plan.workers, new_only=True,
                 user_rps=target_rps / users, server_pid=server_pid)
    srv, machine = meter.rate(), r.cpu_of("machine")
    if server_pid:                               # sampled over the load phase only, not Locust's start-up
        srv = r.cpu_of("server")
    s = r.summary()
    verdict = bottleneck(s["generator_cpu_per_s"], 1, srv, meter.cores, machine_busy=machine)
    if verdict == "neither" and s["rps"] < 0.95 * target_rps:
        verdict = "generator"        # the server had CPU to spare, the workers did not send the target
    return DistributedRun(plan, r, float(s["rps"]), float(srv), meter.cores, machine, verdict)


#: wrk Lua scripts: "new" (every request POST /new) and "mix" (players: POST /new, then guesses in
#: letter-frequency order until the game ends; every response drives the next request of that game).
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


def wrk_wordgame(url: str, script: str = "mix", **options) -> dict:
    """One wrk run of a :data:`WRK_SCRIPTS` script (options as :func:`perfkit.lab.wrk_run`)."""
    return wrk_run(url, WRK_SCRIPTS[script], name=script, **options)


@dataclass(frozen=True)
class LoadWithMetrics:
    load: LocustResult         # the client side
    scrape: pd.DataFrame       # the server's /metrics samples during the run (perfkit.metrics frame)


def load_with_metrics(target: str, admin_url: str, *, users: int = 10, duration: float = 10,
                      interval: float = 0.5, **options) -> LoadWithMetrics:
    """:func:`run_load` while a :class:`perfkit.metrics.Scraper` samples ``admin_url`` every ``interval``."""
    with Scraper(admin_url, interval=interval, job="wordgame") as scraper:
        load = run_load(target, users=users, spawn_rate=users, duration=duration, **options)
    return LoadWithMetrics(load, scraper.frame())


@dataclass(frozen=True)
class ProfileUnderLoad:
    archive: perfkit.DebugArchive     # the debug archive pulled while the players played
    scrape: pd.DataFrame              # /metrics samples around the collection
    requests_per_s: float             # the server's own request rate during the collection
    cpu_cores: float                  # CPU seconds per wall second in the CPU profile
    handler_cpu_share: float          # share of CPU under net/http.serverHandler.ServeHTTP

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU per request, all of it (runtime and network included), in µs."""
        return self.cpu_cores / max(self.requests_per_s, 1e-9) * 1e6


def _request_rate(scrape: pd.DataFrame) -> float:
    req = select(scrape, REQUESTS).groupby("timestamp")["value"].sum()
    if len(req) < 2:
        return float("nan")
    return float((req.iloc[-1] - req.iloc[0]) / max(req.index[-1] - req.index[0], 1e-9))


def profile_under_load(target: str, admin_url: str, out_dir: str | os.PathLike | None = None, *, users: int = 10,
                       cpu_seconds: float = 5, trace_seconds: float = 0.5, warmup: float = 3.5) -> ProfileUnderLoad:
    """Locust players in the background (``warmup`` s to start them), then :func:`perfkit.collect`
    of a debug archive from ``admin_url`` into ``out_dir`` (default: a new temp directory) while
    /metrics is scraped."""
    out_dir = out_dir or tempfile.mkdtemp(prefix="wordgame-archive-")
    bg = threading.Thread(target=run_load, args=(target,), daemon=True,
                          kwargs=dict(users=users, spawn_rate=users, duration=cpu_seconds + warmup + 3))
    bg.start()
    time.sleep(warmup)
    with Scraper(admin_url, interval=0.5, job="wordgame") as during:
        archive = perfkit.collect(admin_url, out_dir, cpu_seconds=cpu_seconds, trace_seconds=trace_seconds,
                                  progress=False)
    bg.join(cpu_seconds + warmup + 60)
    cpu = archive.cpu
    served = perfkit.top(cpu).set_index("name")["cum"]
    handler = served.get("net/http.serverHandler.ServeHTTP", 0)
    return ProfileUnderLoad(archive, during.frame(), _request_rate(during.frame()), float(perfkit.cores_used(cpu)),
                            float(handler / max(cpu.total("cpu"), 1)))
