"""The host simulator: N osquery-like hosts checking in over HTTPS, and the ground truth it reports."""
from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perfkit.lab import LOOPBACK_HOSTS, host_port

from .binaries import TLSLabError, lab_binaries

MODES = ("keepalive", "churn", "resume")
MODE_LABELS = {"keepalive": "keep-alive reuse", "churn": "new connection per request",
               "resume": "new connection + session resumption"}
TIMELINE_COLUMNS = ("connections", "handshakes_full", "handshakes_resumed", "handshakes_abandoned",
                    "requests_ok", "requests_failed")

__all__ = ["HostsReport", "HostSimulator", "MODES", "MODE_LABELS", "read_hosts_report"]


@dataclass(frozen=True)
class HostsReport:
    """What the simulated hosts did: ``totals`` (connections, handshakes_full/resumed/abandoned/failed,
    requests, requests_ok/failed, checkins, retries, ...), latency quantiles in ms (``latency_ms``: per
    successful request including its dial and handshake; ``checkin_ms``) and ``timeline``: one row per
    bucket, ``t`` (unix seconds at the bucket's start) and the counts of :data:`TIMELINE_COLUMNS`."""

    mode: str
    hosts: int
    interval_s: float
    handshake_timeout_s: float
    started_unix: float
    duration_s: float
    totals: dict
    latency_ms: dict
    checkin_ms: dict
    timeline: pd.DataFrame
    bucket_s: float

    def rates(self, t0: float, t1: float) -> pd.Series:
        """Counts per second of every timeline column between unix times ``t0`` and ``t1`` (whole buckets,
        weighted by their overlap with the window)."""
        tl = self.timeline
        lo = tl["t"].clip(lower=t0)
        hi = (tl["t"] + self.bucket_s).clip(upper=t1)
        w = ((hi - lo) / self.bucket_s).clip(lower=0)
        span = max(t1 - t0, 1e-9)
        return (tl[list(TIMELINE_COLUMNS)].mul(w, axis=0).sum() / span).rename("per_s")

    def counts(self, t0: float, t1: float) -> pd.Series:
        """Counts of every timeline column between unix times ``t0`` and ``t1``."""
        return (self.rates(t0, t1) * (t1 - t0)).rename("count")

    @property
    def requests_per_connection(self) -> float:
        c = self.totals.get("connections", 0)
        return self.totals.get("requests_ok", 0) / c if c else float("nan")


def read_hosts_report(path: str | Path) -> HostsReport:
    """Parse the simulator's JSON report; TLSLabError naming the file when it is not one."""
    try:
        d = json.loads(Path(path).read_text())
        tl = d["timeline"]
        cols = list(tl["columns"])
        if tuple(cols) != TIMELINE_COLUMNS:
            raise KeyError(f"timeline columns {cols}")
        frame = pd.DataFrame(tl["rows"], columns=cols, dtype="float64")
        frame.insert(0, "t", float(tl["start_unix"]) + frame.index * float(tl["bucket_s"]))
        return HostsReport(mode=d["mode"], hosts=int(d["hosts"]), interval_s=float(d["interval_s"]),
                           handshake_timeout_s=float(d["handshake_timeout_s"]),
                           started_unix=float(d["started_unix"]), duration_s=float(d["duration_s"]),
                           totals=dict(d["totals"]), latency_ms=dict(d["latency_ms"]),
                           checkin_ms=dict(d["checkin_latency_ms"]), timeline=frame, bucket_s=float(tl["bucket_s"]))
    except OSError as e:
        raise TLSLabError(path, f"cannot read the host simulator's report ({e.strerror})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise TLSLabError(path, f"not a host simulator report ({e})") from None


class HostSimulator:
    """``hostsim`` as a child process, against a server on loopback: :meth:`start`, then :meth:`wait`
    for its :class:`HostsReport` (or :meth:`finish` to end it early). The run is bounded by ``duration``
    (the simulator stops itself). The hosts' first check-ins are spread over ``max(interval, ramp)``."""

    def __init__(self, url: str, ca: str | Path, *, hosts: int, interval: float, mode: str = "churn",
                 handshake_timeout: float = 0.0, duration: float = 10.0, jitter: float = 0.1, ramp: float = 0.0,
                 retries: int = 3, request_timeout: float = 5.0, seed: int = 1, taskset: str | None = None,
                 binary: str | Path | None = None):
        if host_port(url)[0] not in LOOPBACK_HOSTS:
            raise TLSLabError(url, "the host simulator only sends traffic to loopback")
        if mode not in MODES:
            raise TLSLabError("hostsim", f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self.binary = Path(binary) if binary else lab_binaries()[1]
        self.duration = float(duration)
        self.argv = [str(self.binary), "-url", url, "-ca", str(ca), "-hosts", str(hosts), "-interval",
                     f"{interval:g}s", "-mode", mode, "-handshake-timeout", f"{handshake_timeout:g}s",
                     "-duration", f"{duration:g}s", "-jitter", f"{jitter:g}", "-ramp", f"{ramp:g}s", "-retries", str(retries),
                     "-request-timeout", f"{request_timeout:g}s", "-seed", str(seed)]
        if taskset:
            self.argv = ["taskset", "-c", taskset, *self.argv]
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.proc: subprocess.Popen | None = None

    def start(self) -> "HostSimulator":
        self._tmp = tempfile.TemporaryDirectory(prefix="hostsim-")
        self._out = Path(self._tmp.name) / "report.json"
        self._err = open(Path(self._tmp.name) / "stderr", "w+")
        self.proc = subprocess.Popen([*self.argv, "-out", str(self._out)], stdout=subprocess.DEVNULL,
                                     stderr=self._err, text=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def wait(self, grace: float = 30.0) -> HostsReport:
        """The report, once the run ended (killed ``grace`` seconds past its duration)."""
        if self.proc is None:
            raise TLSLabError("hostsim", "not started")
        try:
            self.proc.wait(self.duration + grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        try:
            self._err.seek(0)
            err = self._err.read().strip()
            if self.proc.returncode != 0:
                raise TLSLabError(self.binary, f"exit {self.proc.returncode}: {err[-800:]}")
            return read_hosts_report(self._out)
        finally:
            self.close()

    def finish(self, grace: float = 30.0) -> HostsReport:
        """End the run now (SIGTERM: the simulator cancels in-flight work and writes its report)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        return self.wait(grace)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._tmp is not None:
            self._err.close()
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "HostSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
