"""Headless Locust runs against any HTTP service; results as pandas DataFrames.

Locust monkey-patches the interpreter with gevent when imported, so it always
runs in child processes (``python -m locust`` with the caller's locustfile);
the caller's process (pytest, a notebook) never imports it. Distributed mode
is one ``--master`` plus ``--worker`` processes on loopback, the same way it
runs on several machines.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import PerfkitError
from .cpu import machine_cpu_time, process_cpu_seconds
from .ports import free_port

MAX_USERS, MAX_DURATION = 2000, 3600

__all__ = ["LocustResult", "run_locust", "MAX_USERS", "MAX_DURATION"]


@dataclass(frozen=True)
class LocustResult:
    stats: pd.DataFrame       # per request name: counts, failures, latency percentiles, rps
    history: pd.DataFrame     # percentiles over time (1 s rows)
    failures: pd.DataFrame    # failure messages and counts
    exceptions: pd.DataFrame
    returncode: int
    output: str
    #: one row per Locust process: role (master/worker/standalone), pid, cpu_s (user + system over its
    #: life, from wait4's rusage), cpu_per_s (CPU seconds per second while the users ran, sampled from
    #: /proc; 1.0 = one core busy: that process, not the target, was the bottleneck); with the target's pid
    #: a "server" row, and a "machine" row whose cpu_per_s is the busy share of all cores (0..1)
    processes: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def generator_saturated(self) -> bool:
        """Some load-generating process (standalone or worker) used >= 90 % of a core: its numbers
        measure Locust, not the target."""
        p = self.processes
        if p.empty:
            return False
        p = p[p["role"].isin(("standalone", "worker"))]
        return bool((p["cpu_per_s"] >= 0.9).any())

    @property
    def total(self) -> pd.Series:
        """The ``Aggregated`` row of :attr:`stats`."""
        agg = self.stats[self.stats["Name"] == "Aggregated"] if "Name" in self.stats else self.stats
        if agg.empty:
            raise PerfkitError("locust", "the run wrote no statistics: " + self.output[-1000:])
        return agg.iloc[0]

    def cpu_of(self, role: str) -> float:
        """cpu_per_s of the ``server`` or ``machine`` row of :attr:`processes` (NaN when absent)."""
        p = self.processes
        row = p[p["role"] == role] if len(p) else p
        return float(row["cpu_per_s"].iloc[0]) if len(row) else float("nan")

    def summary(self) -> dict[str, float]:
        """requests, failures, rps, p50_ms, p99_ms, max_ms over the whole run, and the busiest
        generating process's CPU per second (``generator_cpu_per_s``, NaN when not measured)."""
        t = self.total
        p = self.processes
        gen = p[p["role"].isin(("standalone", "worker"))] if len(p) else p
        return {"requests": int(t["Request Count"]), "failures": int(t["Failure Count"]),
                "rps": float(t["Requests/s"]), "p50_ms": float(t["50%"]), "p99_ms": float(t["99%"]),
                "max_ms": float(t["Max Response Time"]),
                "generator_cpu_per_s": float(gen["cpu_per_s"].max()) if len(gen) else float("nan")}


def _read(prefix: Path, name: str) -> pd.DataFrame:
    p = Path(f"{prefix}_{name}.csv")
    return pd.read_csv(p) if p.exists() and p.stat().st_size else pd.DataFrame()


def _sample_cpu(pids, samples, reader, interval: float = 0.2) -> None:
    """(unix time, CPU seconds) of every pid every ``interval`` until the master's output ends; pid None:
    the whole machine's busy CPU seconds per core."""
    for _ in range(int(MAX_DURATION / interval) + 600):
        for pid, out in zip(pids, samples):
            if pid is None:
                c = machine_cpu_time()[0] / os.sysconf("SC_CLK_TCK") / (os.cpu_count() or 1)
            else:
                c = process_cpu_seconds(pid)
            if c == c:
                out.append((time.time(), c))
        if not reader.is_alive():
            return
        time.sleep(interval)


def _rate(samples: list[tuple[float, float]], span: tuple[float, float] | None) -> float:
    """CPU seconds per second over ``span`` (the load phase: Locust's history timestamps), from the
    samples; over all samples without a span. The start-up (imports) and shutdown are left out."""
    if len(samples) < 2:
        return float("nan")
    t, c = np.array(samples).T
    a, b = span if span and span[1] - span[0] >= 1 else (t[0], t[-1])
    a, b = max(a, t[0]), min(b, t[-1])
    return float((np.interp(b, t, c) - np.interp(a, t, c)) / (b - a)) if b > a else float("nan")


def _reap(p: subprocess.Popen, deadline: float) -> float:
    """Wait for ``p`` (killing it at ``deadline``) with wait4: its CPU seconds (user + system)."""
    while True:
        try:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG if time.monotonic() < deadline else 0)
        except ChildProcessError:
            return float("nan")
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return ru.ru_utime + ru.ru_stime
        if time.monotonic() >= deadline:
            p.kill()
        time.sleep(0.02)


def run_locust(locustfile: str | os.PathLike, target: str, users: int = 10, spawn_rate: float = 10,
               duration: float = 10, *, workers: int = 0, env: dict | None = None, timeout: float | None = None,
               taskset: str | None = None, server_pid: int | None = None) -> LocustResult:
    """Run ``locustfile`` headless against ``target`` for ``duration`` seconds.

    Locust arms its ``-t`` timer on gevent's cached loop clock, which is stale by Locust's import time:
    on a busy machine a 2 s run can end before a request is sent. A locustfile fixes it with an
    ``events.init`` listener calling ``gevent.get_hub().loop.update_now()`` (the wordgame one does).
    ``workers`` > 0 runs a master and that many workers; ``env`` is passed to
    every Locust process (the locustfile's tunables); ``taskset`` pins every
    Locust process to these CPUs (``taskset -c``), e.g. ``"1"``. :attr:`LocustResult.processes` gets
    each Locust process's CPU, and with ``server_pid`` a ``server`` row, and always a ``machine`` row
    (busy share of all cores), all over the same span: while the users ran.
    """
    locustfile = Path(locustfile)
    if not locustfile.is_file():
        raise PerfkitError(locustfile, "no such locustfile")
    users = int(min(max(1, users), MAX_USERS))
    duration = float(min(max(1, duration), MAX_DURATION))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if env.get("PYTHONPATH"):               # Locust runs in a temp directory: relative entries would break
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    locust = (["taskset", "-c", taskset] if taskset else []) + [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--skip-log-setup", "--loglevel", "WARNING"]
    timeout = timeout or duration + 60
    with tempfile.TemporaryDirectory(prefix="perfkit-locust-") as tmp:
        prefix = Path(tmp) / "run"
        main = [*locust, "--headless", "-u", str(users), "-r", str(spawn_rate), "-t", f"{int(round(duration))}s",
                "-H", target, "--csv", str(prefix), "--csv-full-history", "--only-summary", "--stop-timeout", "2",
                "--exit-code-on-error", "0"]
        procs = []
        if workers:
            port = free_port()
            main += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                     "--expect-workers", str(workers), "--expect-workers-max-wait", "30"]
        started = time.monotonic()
        m = subprocess.Popen(main, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp)
        procs.append(m)
        if workers:
            time.sleep(0.5)                  # the master binds its port first
            for _ in range(workers):
                procs.append(subprocess.Popen([*locust, "--worker", "--master-host", "127.0.0.1",
                                               "--master-port", str(port)], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, env=env, cwd=tmp))
        pids = [p.pid for p in procs] + [server_pid, None]
        samples: list[list[tuple[float, float]]] = [[] for _ in pids]
        out_parts: list[str] = []
        reader = threading.Thread(target=lambda: out_parts.append(m.stdout.read()), daemon=True)
        reader.start()
        sampler = threading.Thread(target=_sample_cpu, args=(pids, samples, reader), daemon=True)
        sampler.start()
        totals = []
        try:
            totals.append(_reap(m, started + timeout))
        finally:
            for p in procs[1:]:                  # workers quit when the master does
                totals.append(_reap(p, time.monotonic() + 10))
            reader.join(5)
            sampler.join(2)
        out = "".join(out_parts)
        hist = _read(prefix, "stats_history")
        rows = []
        span = (float(hist["Timestamp"].iloc[0]), float(hist["Timestamp"].iloc[-1])) if len(hist) > 1 else None
        for i, p in enumerate(procs):
            role = "standalone" if not workers else "master" if i == 0 else "worker"
            rows.append({"role": role, "pid": p.pid, "cpu_s": round(totals[i], 3),
                         "cpu_per_s": round(_rate(samples[i], span), 3)})
        if server_pid:
            rows.append({"role": "server", "pid": server_pid, "cpu_s": float("nan"),
                         "cpu_per_s": round(_rate(samples[-2], span), 3)})
        rows.append({"role": "machine", "pid": 0, "cpu_s": float("nan"),
                     "cpu_per_s": round(_rate(samples[-1], span), 3)})
        if not hist.empty:
            hist["Timestamp"] = pd.to_datetime(hist["Timestamp"], unit="s")
        return LocustResult(_read(prefix, "stats"), hist, _read(prefix, "failures"), _read(prefix, "exceptions"),
                            m.returncode, out or "", pd.DataFrame(rows))
