"""Chaos primitives for any HTTP service: the result shape of an experiment and its verdict,
request-frame summaries, the shift of a median with its standard error, a health probe and the
options that starve a server of CPU.

Process chaos is on :class:`perfkit.lab.process.GoServer` (``kill()`` is kill -9,
``signal(SIGTERM)`` a graceful stop, ``restart()``); network chaos is
:class:`perfkit.lab.proxy.FaultProxy`.
"""
from __future__ import annotations

import math
import urllib.request
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ChaosResult", "chaos_verdict", "median_shift", "latency_summary", "http_ok", "cpu_starved"]


@dataclass(frozen=True)
class ChaosResult:
    """One experiment: what was expected, what was measured, and whether it held."""
    experiment: str
    expectation: str
    observed: dict                 # measured numbers by name (scalars; errors_by_type is a name -> count dict)
    passed: bool
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)     # what happened (requests or samples)
    requests: pd.DataFrame | None = None                           # the request log, when frame is samples
    reason: str = ""               # one line, computed: why it held, or which check failed and by how much

    def observed_text(self) -> str:
        """``name=value, ...`` for the scalar observations."""
        return ", ".join(f"{k}={v}" for k, v in self.observed.items() if not isinstance(v, dict))


def chaos_verdict(checks) -> tuple[bool, str]:
    """``checks``: ``(held, sentence)`` pairs, each sentence stating an observed figure against its
    expected range. Returns ``(every check held, reason)``: the sentences of the failed checks, or
    of all of them when every one held, joined by ``"; "``."""
    checks = [(bool(ok), text) for ok, text in checks]
    failed = [text for ok, text in checks if not ok]
    return not failed, "; ".join(failed or [text for _, text in checks])


def median_shift(baseline, treatment, *, resamples: int = 500, seed: int = 0) -> tuple[float, float]:
    """``(median(treatment) - median(baseline), its standard error)``; the error is the standard
    deviation of the shift over ``resamples`` bootstrap resamples of both samples, so it comes from
    the samples' own spread. NaNs when either sample is empty."""
    b, t = np.asarray(baseline, dtype=float), np.asarray(treatment, dtype=float)
    if not len(b) or not len(t):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    resamples = int(min(max(resamples, 50), 5000))
    shifts = []
    for k in range(0, resamples, 100):                 # 100 resamples at a time: bounded memory
        m = min(100, resamples - k)
        shifts.append(np.median(rng.choice(t, (m, len(t))), axis=1) - np.median(rng.choice(b, (m, len(b))), axis=1))
    return float(np.median(t) - np.median(b)), float(np.std(np.concatenate(shifts), ddof=1))


def latency_summary(df: pd.DataFrame) -> dict:
    """A request frame (columns t, latency_s, status, ok) as requests, errors (not ok), error_rate,
    server_5xx, rps over the recorded span, p50/p90/p99/max in ms."""
    if df.empty:
        return {"requests": 0, "errors": 0, "error_rate": 0.0, "server_5xx": 0, "rps": 0.0, "p50_ms": math.nan,
                "p90_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}
    span = float((df["t"] + df["latency_s"]).max() - df["t"].min()) or 1e-9
    lat = df["latency_s"] * 1000
    errors = int((~df["ok"]).sum())
    return {"requests": int(len(df)), "errors": errors, "error_rate": round(errors / len(df), 4),
            "server_5xx": int(df["status"].between(500, 599).sum()), "rps": round(len(df) / span, 1),
            "p50_ms": round(float(lat.quantile(0.5)), 3), "p90_ms": round(float(lat.quantile(0.9)), 3),
            "p99_ms": round(float(lat.quantile(0.99)), 3), "max_ms": round(float(lat.max()), 3)}


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when a GET of ``url`` (e.g. a /healthz endpoint) answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def cpu_starved(cpus: str = "0", gomaxprocs: int = 1) -> dict:
    """Keyword options for :class:`~perfkit.lab.process.GoServer` that starve a Go server of CPU:
    pinned to ``cpus`` (``taskset -c``) with ``GOMAXPROCS`` = ``gomaxprocs``."""
    return {"taskset": cpus, "env": {"GOMAXPROCS": str(gomaxprocs)}}
