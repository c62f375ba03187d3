"""Load against the wordgame server: Locust runs with the wordgame locustfile, capacity search, wrk
runs with wordgame scripts, and load combined with a metrics scrape or a profile collection."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import perfkit
from perfkit.lab import WRK_DONE, CapacityResult, LocustResult, capacity_search, run_locust, wrk_run
from perfkit.metrics import Scraper, select

from .frames import REQUESTS

LOCUSTFILE = Path(__file__).with_name("locustfile.py")

__all__ = ["LOCUSTFILE", "WRK_SCRIPTS", "run_load", "wordgame_capacity", "wrk_wordgame", "LoadWithMetrics",
           "load_with_metrics", "ProfileUnderLoad", "profile_under_load"]


def _env(think=(0.0, 0.0), abandon=0.1, invalid=0.02, new_only=False) -> dict:
    # the locustfile imports wordgame_lab: make it importable in Locust's processes however we were found
    path = os.pathsep.join(p for p in (str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "WORDGAME_THINK_MIN": str(think[0]), "WORDGAME_THINK_MAX": str(think[1]),
            "WORDGAME_ABANDON": str(abandon), "WORDGAME_INVALID": str(invalid),
            "WORDGAME_NEW_ONLY": "1" if new_only else "0"}


def run_load(target: str, users: int = 10, spawn_rate: float = 10, duration: float = 10, *, workers: int = 0,
             think: tuple[float, float] = (0.0, 0.0), abandon: float = 0.1, invalid: float = 0.02,
             timeout: float | None = None, new_only: bool = False, taskset: str | None = None) -> LocustResult:
    """Locust players (the wordgame locustfile) for ``duration`` seconds; ``workers`` > 0 runs a master
    and that many workers. ``new_only``: every user only sends ``POST /new`` (generator-ceiling
    comparisons with wrk). ``taskset``: pin every Locust process to these CPUs."""
    return run_locust(LOCUSTFILE, target, users, spawn_rate, duration, workers=workers, timeout=timeout,
                      taskset=taskset, env=_env(think, abandon, invalid, new_only))


def wordgame_capacity(target: str, *, steps=(5, 10, 20, 40, 80), step_seconds: float = 5, p99_ms: float = 50,
                      workers: int = 0, max_steps: int = 10) -> CapacityResult:
    """Step the Locust players up until p99 exceeds ``p99_ms`` or a request fails."""
    return capacity_search(LOCUSTFILE, target, steps=steps, step_seconds=step_seconds, p99_ms=p99_ms,
                           workers=workers, max_steps=max_steps, env=_env())


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
