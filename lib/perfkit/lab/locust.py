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
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import PerfkitError
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

    @property
    def total(self) -> pd.Series:
        """The ``Aggregated`` row of :attr:`stats`."""
        agg = self.stats[self.stats["Name"] == "Aggregated"] if "Name" in self.stats else self.stats
        if agg.empty:
            raise PerfkitError("locust", "the run wrote no statistics: " + self.output[-1000:])
        return agg.iloc[0]

    def summary(self) -> dict[str, float]:
        """requests, failures, rps, p50_ms, p99_ms, max_ms over the whole run."""
        t = self.total
        return {"requests": int(t["Request Count"]), "failures": int(t["Failure Count"]),
                "rps": float(t["Requests/s"]), "p50_ms": float(t["50%"]), "p99_ms": float(t["99%"]),
                "max_ms": float(t["Max Response Time"])}


def _read(prefix: Path, name: str) -> pd.DataFrame:
    p = Path(f"{prefix}_{name}.csv")
    return pd.read_csv(p) if p.exists() and p.stat().st_size else pd.DataFrame()


def run_locust(locustfile: str | os.PathLike, target: str, users: int = 10, spawn_rate: float = 10,
               duration: float = 10, *, workers: int = 0, env: dict | None = None, timeout: float | None = None,
               taskset: str | None = None) -> LocustResult:
    """Run ``locustfile`` headless against ``target`` for ``duration`` seconds.

    ``workers`` > 0 runs a master and that many workers; ``env`` is passed to
    every Locust process (the locustfile's tunables); ``taskset`` pins every
    Locust process to these CPUs (``taskset -c``), e.g. ``"1"``.
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
        m = subprocess.Popen(main, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp)
        procs.append(m)
        if workers:
            time.sleep(0.5)                  # the master binds its port first
            for _ in range(workers):
                procs.append(subprocess.Popen([*locust, "--worker", "--master-host", "127.0.0.1",
                                               "--master-port", str(port)], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, env=env, cwd=tmp))
        try:
            out, _ = m.communicate(timeout=timeout)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(5)
        hist = _read(prefix, "stats_history")
        if not hist.empty:
            hist["Timestamp"] = pd.to_datetime(hist["Timestamp"], unit="s")
        return LocustResult(_read(prefix, "stats"), hist, _read(prefix, "failures"), _read(prefix, "exceptions"),
                            m.returncode, out or "")
