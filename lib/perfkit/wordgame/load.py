"""Headless Locust runs against a wordgame server; results as pandas DataFrames.

Locust monkey-patches the interpreter with gevent when imported, so it always
runs in child processes (``locust`` CLI with our locustfile); the caller's
process (pytest, a notebook) stays unpatched. Distributed mode is one
``--master`` plus ``--worker`` processes on loopback, the same way it runs on
several machines (give the workers ``--master-host``).
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
from ..ports import free_port

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MAX_USERS, MAX_DURATION = 2000, 3600


@dataclass
class LoadResult:
    stats: pd.DataFrame       # per request name: counts, failures, latency percentiles, rps
    history: pd.DataFrame     # percentiles over time (1 s rows)
    failures: pd.DataFrame    # failure messages and counts
    exceptions: pd.DataFrame
    returncode: int
    output: str

    @property
    def total(self) -> pd.Series:
        return self.stats[self.stats["Name"] == "Aggregated"].iloc[0]

    def summary(self) -> dict:
        t = self.total
        return {"requests": int(t["Request Count"]), "failures": int(t["Failure Count"]),
                "rps": float(t["Requests/s"]), "p50_ms": float(t["50%"]), "p99_ms": float(t["99%"]),
                "max_ms": float(t["Max Response Time"])}



def _read(prefix: Path, name: str) -> pd.DataFrame:
    p = Path(f"{prefix}_{name}.csv")
    return pd.read_csv(p) if p.exists() and p.stat().st_size else pd.DataFrame()


def run_load(target: str, users: int = 10, spawn_rate: float = 10, duration: float = 10, *, workers: int = 0,
             think: tuple[float, float] = (0.0, 0.0), abandon: float = 0.1, invalid: float = 0.02,
             timeout: float | None = None, new_only: bool = False, taskset: str | None = None) -> LoadResult:
    """Run Locust headless for ``duration`` seconds; ``workers`` > 0 runs a master and that many workers.

    ``new_only``: every user only sends ``POST /new`` (for generator-ceiling comparisons with wrk).
    ``taskset``: pin every Locust process to these CPUs (``taskset -c``), e.g. ``"1"``.
    """
    users = int(min(max(1, users), MAX_USERS))
    duration = float(min(max(1, duration), MAX_DURATION))
    env = {**os.environ, "WORDGAME_THINK_MIN": str(think[0]), "WORDGAME_THINK_MAX": str(think[1]),
           "WORDGAME_ABANDON": str(abandon), "WORDGAME_INVALID": str(invalid), "PYTHONUNBUFFERED": "1",
           "WORDGAME_NEW_ONLY": "1" if new_only else "0"}
    locust = (["taskset", "-c", taskset] if taskset else []) + [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--skip-log-setup", "--loglevel", "WARNING"]
    timeout = timeout or duration + 60
    with tempfile.TemporaryDirectory(prefix="wordgame-locust-") as tmp:
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
            time.sleep(0.5)
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
        return LoadResult(_read(prefix, "stats"), hist, _read(prefix, "failures"), _read(prefix, "exceptions"),
                          m.returncode, out or "")
