"""The scenario grid: key type × connection behaviour × client handshake timeout, run one by one."""
from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from .hosts import MODES
from .scenario import Scenario, ScenarioRun, run_scenario
from .server import KEY_LABELS, KEY_TYPES

__all__ = ["scenario_grid", "run_grid", "offered_load", "hosts_for_load", "REQUESTS_PER_CHECKIN"]

REQUESTS_PER_CHECKIN = 2       # config, then distributed/read (the simulator's check-in)


def scenario_grid(*, short: bool = False, hosts: int = 1000, interval_s: float = 5.0,
                  timeout_s: float = 1.0) -> list[Scenario]:
    """The experiments. Full: every key type × mode × (no timeout, ``timeout_s``), plus resumption with
    the server's session tickets off. Short (CI): the churn + RSA-4096 baseline with and without the
    timeout, and each fix once (ECDSA, keep-alive, resumption), plus the ECDSA keep-alive run the
    overhead measurement needs."""
    if short:
        mk = [("rsa4096", "churn", timeout_s), ("rsa4096", "churn", 0.0), ("ecdsa-p256", "churn", timeout_s),
              ("rsa4096", "keepalive", timeout_s), ("rsa4096", "resume", timeout_s),
              ("ecdsa-p256", "keepalive", 0.0)]
        return [Scenario(k, m, t, hosts, interval_s) for k, m, t in mk]
    grid = [Scenario(k, m, t, hosts, interval_s)
            for m, k, t in itertools.product(MODES[::-1], KEY_TYPES[::-1], (0.0, timeout_s))]
    return grid + [Scenario("rsa4096", "resume", timeout_s, hosts, interval_s, tickets=False)]


def run_grid(scenarios: list[Scenario], out_dir: str | Path, *, cpu_seconds: float = 4.0, trace_seconds: float = 1.0,
             progress: Callable[[str], None] | bool | None = None, force: bool = False) -> list[ScenarioRun]:
    """Run each scenario into ``out_dir/<slug>`` (one debug archive each), in order."""
    say = (lambda m: None) if progress is False else progress if callable(progress) else (
        lambda m: print(m, file=sys.stderr, flush=True))
    out, runs = Path(out_dir), []
    t0 = time.monotonic()
    for i, sc in enumerate(scenarios, 1):
        t = time.monotonic()
        run = run_scenario(sc, out / sc.slug, cpu_seconds=cpu_seconds, trace_seconds=trace_seconds, force=force)
        runs.append(run)
        say(f"[{i}/{len(scenarios)}] {sc.name}: {time.monotonic() - t:.1f} s")
    say(f"{len(scenarios)} scenarios in {time.monotonic() - t0:.0f} s")
    return runs


def hosts_for_load(signatures, *, load: float, cores: int, interval_s: float = 5.0, key: str = "rsa4096") -> int:
    """Hosts whose churning check-ins (a new connection per request) ask for ``load`` × ``cores`` of ``key``
    signatures at this machine's cost per signature (``perfkit.analysis.signature_costs``): below 1 the
    server is loaded, above 1 it cannot keep up."""
    from .binaries import TLSLabError
    from .estimates import sign_ms
    if load <= 0 or cores <= 0 or interval_s <= 0:
        raise TLSLabError("hosts_for_load", f"load, cores and interval_s must be positive, not {load}, {cores}, {interval_s}")
    connections_per_host_s = REQUESTS_PER_CHECKIN / interval_s
    return max(1, round(load * cores / (sign_ms(signatures, key) / 1e3 * connections_per_host_s)))


def offered_load(scenarios: list[Scenario], signatures) -> pd.DataFrame:
    """What each scenario asks of the server before it runs: requests/s, new connections/s once warmed
    up (every request when churning, none when reusing; resumption still connects per request) and the
    cores the signatures of those handshakes would take at this machine's cost per signature
    (``perfkit.analysis.signature_costs``; resumed handshakes sign nothing)."""
    from .estimates import sign_ms
    rows = []
    for s in scenarios:
        req = s.hosts * REQUESTS_PER_CHECKIN / s.interval_s
        conns = 0.0 if s.mode == "keepalive" else req
        full = conns if s.mode == "churn" or not s.tickets else 0.0
        rows.append({"scenario": s.name, "requests/s": req, "new connections/s": conns,
                     "full handshakes/s": full, "signature ms": sign_ms(signatures, s.key),
                     "signature cores": full * sign_ms(signatures, s.key) / 1e3, "key": KEY_LABELS[s.key]})
    return pd.DataFrame(rows).set_index("scenario")
