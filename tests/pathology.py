"""Pathology archives: a small Go program (tests/pathologies/) runs one known pathology on loopback and
perfkit.collect pulls a debug archive from its admin pprof port.

``pathology_archive(mode)`` (a session fixture: import ``pathology_archive_fixture`` into the test module) builds the program once, and collects each mode's archive
once per session: start the process, let its load settle, collect (short CPU profile and trace), stop it.
``COLLECTED`` records how long each collection took (for the test report), ``RUN_QUEUE_WAIT`` how many of
the process's threads waited in the kernel's run queue on average meanwhile (/proc/PID/task/*/schedstat: an
oracle for CPU starvation that the archive cannot see).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import perfkit
from perfkit.lab import GoServer

SRC = Path(__file__).resolve().parent / "pathologies"
MODES = ("lock", "gc", "leak", "syscall", "tls-churn", "starved", "healthy")
# starved: 4 Ps pinned to one CPU, so the Ps hold running goroutines whose threads wait for the kernel
PROCESS_OPTIONS = {"starved": {"taskset": "0", "env": {"GOMAXPROCS": "4"}}}
CPU_SECONDS = 4
TRACE_SECONDS = 1
SETTLE_SECONDS = 1.5        # load running before the first snapshot (the leak has ~3000 goroutines by then)
PROCESS_SECONDS = 60        # the program exits by itself after this, whatever happens to the test
COLLECTED: dict[str, float] = {}
RUN_QUEUE_WAIT: dict[str, float] = {}
# A process whose threads waited at least this many on average in the kernel's run queue was starved of CPU for
# real, so cpu-starvation is true of it whatever it runs (a busy test machine).
KERNEL_WAIT_THREADS = 0.1


def run_queue_wait_s(pid: int) -> float:
    """Seconds the threads of ``pid`` have waited in the kernel's run queue (runnable, not on a CPU)."""
    total = 0
    for f in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(f.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            pass                          # a thread that exited meanwhile
    return total / 1e9


def _addresses(line: str):
    try:
        rec = json.loads(line)
        return rec.get("url", ""), "http://" + rec["admin"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def build_pathologies(go: str, out: Path) -> Path:
    """``go build`` the pathology program into ``out``; the binary's path."""
    exe = out / "pathologies"
    r = subprocess.run([go, "build", "-o", str(exe), "."], cwd=SRC, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "CGO_ENABLED": "0"})
    if r.returncode != 0:
        pytest.fail("building tests/pathologies failed:\n" + r.stderr)
    return exe


def collect_pathology(exe: Path, mode: str, out_dir: Path) -> perfkit.DebugArchive:
    """Run ``exe -mode MODE``, collect an archive into ``out_dir`` while it runs, stop it."""
    srv = GoServer(lambda _wd: [str(exe), "-mode", mode, "-duration", f"{PROCESS_SECONDS}s"],
                   addresses=_addresses, ready_path="/debug/pprof/", name=f"pathology-{mode}",
                   **PROCESS_OPTIONS.get(mode, {}))
    with srv:
        time.sleep(SETTLE_SECONDS)
        t0, w0 = time.monotonic(), run_queue_wait_s(srv.pid)
        arch = perfkit.collect(srv.admin_url, out_dir, cpu_seconds=CPU_SECONDS, trace_seconds=TRACE_SECONDS,
                               progress=False)
        COLLECTED[mode] = time.monotonic() - t0
        RUN_QUEUE_WAIT[mode] = (run_queue_wait_s(srv.pid) - w0) / COLLECTED[mode]
        assert srv.alive, f"pathology {mode} died during collection: {srv.tail()}"
    return arch


@pytest.fixture(scope="session", name="pathology_archive")
def pathology_archive_fixture(go_bin, tmp_path_factory):
    """``pathology_archive(mode)`` -> the DebugArchive collected from that mode (cached per session)."""
    exe = build_pathologies(go_bin, tmp_path_factory.mktemp("pathologies-bin"))
    cache: dict[str, perfkit.DebugArchive] = {}

    def get(mode: str) -> perfkit.DebugArchive:
        if mode not in MODES:
            raise ValueError(f"unknown pathology {mode!r}; one of {MODES}")
        if mode not in cache:
            cache[mode] = collect_pathology(exe, mode, tmp_path_factory.mktemp(f"archive-{mode}"))
        return cache[mode]

    return get
