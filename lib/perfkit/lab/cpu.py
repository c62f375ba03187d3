"""CPU use of processes and of the whole machine, from /proc: what a load run needs to tell whether
the generator, the server or the machine was the bottleneck."""
from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

__all__ = ["process_cpu_seconds", "machine_cpu_time", "usable_cores", "CpuMeter"]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process so far (``/proc/PID/stat``); NaN when unreadable."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_cpu_time() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks, from /proc/stat (NaN elsewhere)."""
    try:
        f = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(f) - f[3] - f[4], sum(f)
    except (OSError, IndexError, ValueError):
        return float("nan"), float("nan")


class CpuMeter:
    """CPU seconds per second of a server between :meth:`start` and :meth:`rate`: from
    ``/proc/PID/stat`` when ``pid`` is given, else from ``process_cpu_seconds_total`` on
    ``metrics_url`` (a Prometheus ``/metrics`` page, e.g. a Go service's admin listener);
    NaN when neither is known or readable. :meth:`rate` also sets :attr:`machine_busy`, the
    share of the whole machine's CPU in use meanwhile (every process, ours or not)."""

    def __init__(self, pid: int | None = None, metrics_url: str | None = None):
        self.pid, self.metrics_url = pid, metrics_url
        self._t0 = self._c0 = float("nan")
        self._m0 = (float("nan"), float("nan"))
        self.machine_busy = float("nan")

    def read(self) -> float:
        if self.pid:
            return process_cpu_seconds(self.pid)
        if self.metrics_url:
            try:
                with urllib.request.urlopen(self.metrics_url, timeout=2) as r:
                    for line in r.read().decode(errors="replace").splitlines():
                        if line.startswith("process_cpu_seconds_total"):
                            return float(line.split()[-1])
            except (OSError, ValueError):
                pass
        return float("nan")

    def start(self) -> "CpuMeter":
        self._t0, self._c0, self._m0 = time.monotonic(), self.read(), machine_cpu_time()
        return self

    def rate(self) -> float:
        c = self.read()
        b, t = machine_cpu_time()
        self.machine_busy = (b - self._m0[0]) / (t - self._m0[1]) if t > self._m0[1] else float("nan")
        return (c - self._c0) / max(time.monotonic() - self._t0, 1e-9)

    @property
    def cores(self) -> int:
        """CPUs the server may run on (its affinity; this machine's when unknown)."""
        return usable_cores(self.pid)


def usable_cores(pid: int | None) -> int:
    """CPUs process ``pid`` may run on (its affinity; this process's for None; the machine's when unknown)."""
    try:
        return len(os.sched_getaffinity(pid or 0))
    except (OSError, AttributeError):
        return os.cpu_count() or 1
