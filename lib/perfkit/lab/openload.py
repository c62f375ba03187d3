"""Open-model load: a constant arrival rate, latency measured from each request's intended send time.

A closed-loop generator (wrk, Locust) sends a connection's next request only when the previous answer
has arrived, so a server stall also stalls the generator and the requests that should have gone out
meanwhile are never measured (coordinated omission). The open model sends on a schedule fixed in
advance: request *i* is due at ``i / rate`` whatever the server does, and its latency runs from that
time. The generator is ``loadgen`` (Go, stdlib only, package data in ``loadgen_src/``, built on demand
into the lab cache): Python cannot reach a Go server's rate on one core.

A scenario is a dict (or a JSON file) of weighted request templates::

    {"name": "api", "templates": [
        {"name": "create", "weight": 1, "method": "POST", "path": "/items",
         "capture": {"pool": "ids", "regex": "\\"id\\":\\"([^\\"]+)\\""}},
        {"name": "update", "weight": 3, "method": "POST", "path": "/items/{{value}}", "take": "ids",
         "body": "{\\"x\\": \\"{{pick:xs}}\\"}", "put_back": "\\"open\\":true"}],
     "lists": {"xs": ["a", "b"]}, "pool_max": 100000}

``capture`` adds the regex's first group of a 2xx body to a pool; ``take`` takes one value (FIFO) for
``{{value}}``; ``put_back`` returns it when the 2xx body matches. An arrival whose template's pool is
empty uses a template that takes nothing instead, so the arrival rate never depends on the responses.

Past ``max_inflight`` requests on the wire (one connection each; default 256: thousands of connections
cost the generator and the server more than they measure), arrivals wait for a slot: their latency still
runs from the intended time, the wait shows as send lag, and the generator's own lateness as dispatch
lag. Past ``max_queue`` waiting arrivals (default: one second of arrivals), an arrival is dropped and
counted (``dropped``, never sent, left out of the latency percentiles).
Every request has a deadline of ``timeout`` from its intended time; the whole run a hard limit.
"""
from __future__ import annotations

import json
import math
import re
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import PerfkitError
from .cpu import CpuMeter, usable_cores
from .process import build_go_binary, lab_cache_dir

LOADGEN_SRC = Path(__file__).with_name("loadgen_src")
MAX_RATE, MAX_DURATION = 200_000, 600

__all__ = ["OpenLoadResult", "open_load", "loadgen_binary", "bottleneck", "LOADGEN_SRC"]


def loadgen_binary(force: bool = False) -> Path:
    """The ``loadgen`` binary, built from the packaged source into the lab cache when missing or stale."""
    return build_go_binary(LOADGEN_SRC, out=lab_cache_dir() / "bin" / "perfkit-loadgen", force=force)


def bottleneck(generator_cpu_per_s: float, generator_cores: float, server_cpu_per_s: float, server_cores: float,
               dispatch_lag_p99_ms: float = 0.0, *, machine_busy: float = float("nan"), lag_ms: float = 5.0,
               busy: float = 0.9) -> str:
    """Which side limited a run: ``"generator"`` when the generator ran late (dispatch lag p99 >
    ``lag_ms``) or its busiest process used ``busy`` of the cores it can use; ``"server"`` when the
    server used ``busy`` of its cores; ``"shared CPU"`` when neither alone did but the machine was
    ``busy`` (generator and server on one machine, or other work on it); else ``"neither"``."""
    if dispatch_lag_p99_ms > lag_ms or generator_cpu_per_s >= busy * generator_cores:
        return "generator"
    if server_cpu_per_s >= busy * server_cores:
        return "server"
    if machine_busy >= busy:
        return "shared CPU"
    return "neither"


@dataclass(frozen=True)
class OpenLoadResult:
    requests: pd.DataFrame    # one row per arrival: intended/dispatch/send/done_s (s from start; NaN: not sent or
                              # no answer), status, template, error (dropped, timeout, unfinished, ...), sent,
                              # ok (sent, answered, status < 500), latency_intended_ms, latency_send_ms,
                              # send_lag_ms, dispatch_lag_ms (the generator's own lateness)
    seconds: pd.DataFrame     # per second of intended time: arrivals, sent, ok, failed, dropped, p50/p99 both ways
    summary: dict             # the generator's own summary (its CPU, peak in-flight, error counts)
    rate: float
    duration: float
    server_cpu_per_s: float   # NaN unless a server pid was given
    server_cores: int
    generator_cores: int
    machine_busy: float       # share of the whole machine's CPU in use during the run

    def latency(self) -> pd.DataFrame:
        """Percentiles (ms) of latency from intended time, from actual send time, and the send lag:
        the first minus the second is what a closed loop does not see."""
        r = self.requests.dropna(subset=["latency_intended_ms"])
        q = [50, 90, 99, 99.9, 100]
        cols = {"from intended time": r["latency_intended_ms"], "from actual send": r["latency_send_ms"],
                "send lag": r["send_lag_ms"], "dispatch lag": r["dispatch_lag_ms"]}
        return pd.DataFrame({k: [float(np.percentile(v, p)) if len(v) else float("nan") for p in q]
                             for k, v in cols.items()}, index=["p50", "p90", "p99", "p99.9", "max"])

    def as_row(self) -> dict:
        """One flat row (what a capacity step records)."""
        lat = self.latency()
        r = self.requests
        sent = int(r["sent"].sum())
        done = r.dropna(subset=["done_s"])
        span = float(done["done_s"].max() - r["send_s"].min()) if len(done) else float("nan")
        gen_cpu = float(self.summary.get("cpu_per_s", float("nan")))
        row = {"rate": self.rate, "arrivals": len(r), "sent": sent, "ok": int(r["ok"].sum()),
                "failed": int((r["sent"] & ~r["ok"]).sum()), "dropped": int((r["error"] == "dropped").sum()),
                "achieved_rps": round(len(done) / span, 1) if span and span > 0 else float("nan"),
                "p50_ms": lat.at["p50", "from intended time"], "p99_ms": lat.at["p99", "from intended time"],
                "max_ms": lat.at["max", "from intended time"],
                "p50_send_ms": lat.at["p50", "from actual send"], "p99_send_ms": lat.at["p99", "from actual send"],
                "send_lag_p99_ms": lat.at["p99", "send lag"], "dispatch_lag_p99_ms": lat.at["p99", "dispatch lag"],
                "generator_cpu_per_s": gen_cpu, "server_cpu_per_s": self.server_cpu_per_s,
                "inflight_peak": int(self.summary.get("inflight_peak", 0)),
                "bottleneck": bottleneck(gen_cpu, self.generator_cores, self.server_cpu_per_s, self.server_cores,
                                         lat.at["p99", "dispatch lag"], machine_busy=self.machine_busy),
               "machine_busy": self.machine_busy}
        return {k: float(v) if isinstance(v, np.floating) else v for k, v in row.items()}


def _scenario_file(scenario, tmp: Path) -> tuple[Path, str]:
    if isinstance(scenario, (str, os.PathLike)):
        p = Path(scenario)
        if not p.is_file():
            raise PerfkitError(p, "no such scenario file")
        return p, str(p)
    if not isinstance(scenario, dict):
        raise PerfkitError("scenario", f"must be a dict or a JSON file path, not {type(scenario).__name__}")
    p = tmp / "scenario.json"
    p.write_text(json.dumps(scenario))
    return p, str(scenario.get("name") or "scenario")


def _frames(csv: Path, duration: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = pd.read_csv(csv, keep_default_na=False, dtype={"error": str, "template": str})
    for c in ("intended", "dispatch", "send", "done"):
        r[f"{c}_s"] = r.pop(f"{c}_us") / 1e6
    r["sent"] = r["send_s"] > 0
    r.loc[~r["sent"], "send_s"] = np.nan
    r.loc[r["done_s"] <= 0, "done_s"] = np.nan
    r["ok"] = r["sent"] & (r["error"] == "") & (r["status"].between(1, 499))
    r["latency_intended_ms"] = (r["done_s"] - r["intended_s"]) * 1e3
    r["latency_send_ms"] = (r["done_s"] - r["send_s"]) * 1e3
    r["send_lag_ms"] = (r["send_s"] - r["intended_s"]) * 1e3
    r["dispatch_lag_ms"] = (r["dispatch_s"] - r["intended_s"]) * 1e3
    sec = r["intended_s"].floordiv(1).astype(int).rename("second")
    g = r.groupby(sec)
    per = pd.DataFrame({
        "arrivals": g.size(), "sent": g["sent"].sum(), "ok": g["ok"].sum(),
        "failed": (r["sent"] & ~r["ok"]).groupby(sec).sum(),
        "dropped": (r["error"] == "dropped").groupby(sec).sum(),
        "p50_ms": g["latency_intended_ms"].quantile(0.5), "p99_ms": g["latency_intended_ms"].quantile(0.99),
        "p99_send_ms": g["latency_send_ms"].quantile(0.99), "send_lag_p99_ms": g["send_lag_ms"].quantile(0.99),
    }).reset_index()
    return r, per[per["second"] < math.ceil(duration)]


def open_load(target: str, scenario, rate: float, duration: float = 5, *, max_inflight: int = 256,
              max_queue: int | None = None, timeout: float = 5, hard_limit: float | None = None, seed: int = 1,
              taskset: str | None = None, server_pid: int | None = None, server_metrics_url: str | None = None,
              binary: str | os.PathLike | None = None) -> OpenLoadResult:
    """``rate`` arrivals per second of ``scenario`` against ``target`` (http://127.0.0.1:PORT) for
    ``duration`` seconds. The server's CPU over the run (for :func:`bottleneck`) comes from
    ``server_pid`` (/proc) or ``server_metrics_url`` (its ``/metrics``). ``taskset`` pins the
    generator to these CPUs."""
    if not str(target).startswith("http://"):
        raise PerfkitError(target, "open_load needs an http:// URL")
    rate = float(rate)
    duration = float(duration)
    if not 0 < rate <= MAX_RATE:
        raise PerfkitError("open_load", f"rate {rate:g} not in (0, {MAX_RATE}]")
    if not 0 < duration <= MAX_DURATION:
        raise PerfkitError("open_load", f"duration {duration:g} s not in (0, {MAX_DURATION}]")
    exe = Path(binary) if binary else loadgen_binary()
    hard = hard_limit or duration + timeout + 2
    with tempfile.TemporaryDirectory(prefix="perfkit-openload-") as tmp:
        tmp = Path(tmp)
        sc, name = _scenario_file(scenario, tmp)
        csv = tmp / "requests.csv"
        cmd = [str(exe), "-target", target, "-scenario", str(sc), "-rate", repr(rate), "-duration",
               f"{duration}s", "-max-inflight", str(int(max_inflight)), "-max-queue", str(int(max_queue or 0)),
               "-timeout", f"{timeout}s", "-hard-limit", f"{hard}s", "-requests", str(csv), "-seed", str(seed)]
        if taskset:
            cmd = ["taskset", "-c", taskset, *cmd]
        meter = CpuMeter(server_pid, server_metrics_url).start()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=hard + 30)
        except subprocess.TimeoutExpired as e:
            raise PerfkitError(name, f"loadgen did not finish within {hard + 30:g} s") from e
        server_cpu = meter.rate()
        if p.returncode != 0:
            msg = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
            raise PerfkitError(name, re.sub(r'^(loadgen: )?scenario "[^"]*": ', "", msg))
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        requests, seconds = _frames(csv, duration)
    gen_cores = len(taskset.split(",")) if taskset and "-" not in taskset else usable_cores(None)
    return OpenLoadResult(requests, seconds, summary, rate, duration, float(server_cpu),
                          meter.cores, gen_cores, float(meter.machine_busy))
