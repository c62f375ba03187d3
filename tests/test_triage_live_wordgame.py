"""`perfkit triage` on an archive collected live from the wordgame server under bounded load from Python.

The wordgame server is not pathological: Python players (wordgame_lab.Recorder, 4 threads, keep-alive
connections) drive it at whatever rate the Python side manages, which on this machine is far below what the Go
server can serve, so it stays lightly loaded. The truthful expectation is therefore no high finding: a high
finding would be a false alarm, with two exceptions that the test checks rather than assumes: cpu-saturation may
be high only if the server really used most of GOMAXPROCS during the profile, and cpu-starvation only if the
server's threads really waited in the kernel's run queue (/proc schedstat; a busy test machine does that).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

import perfkit
from perfkit import trace
from conftest import ROOT
from pathology import KERNEL_WAIT_THREADS, run_queue_wait_s
from wordgame_lab import Recorder, WordgameServer

pytestmark = [pytest.mark.slow, pytest.mark.serial]     # they measure CPU and the kernel's run queue

KINDS = ("cpu-saturation", "cpu-starvation", "tls-handshakes", "connection-churn", "gc-pressure", "lock-contention",
         "goroutine-leak", "syscall-heavy", "blocking-io", "scheduler-latency", "hot-function",
         "profiling-disabled")
SEVERITIES = ("high", "medium", "low", "info")
LOAD_THREADS = 4
CPU_SECONDS = 4


@pytest.fixture(scope="module")
def live_archive(tmp_path_factory):
    if not (ROOT / "wordgame" / "go.mod").exists():
        pytest.skip("the wordgame server is not in this checkout")
    out = tmp_path_factory.mktemp("wordgame-live")
    with WordgameServer() as srv:
        rec = Recorder(srv.url, threads=LOAD_THREADS, max_seconds=30).start()
        try:
            time.sleep(1.0)                       # load running before the first snapshot
            t0, w0 = time.monotonic(), run_queue_wait_s(srv.pid)
            arch = perfkit.collect(srv.admin_url, out, cpu_seconds=CPU_SECONDS, trace_seconds=1, progress=False)
            seconds = time.monotonic() - t0
            waiting = (run_queue_wait_s(srv.pid) - w0) / seconds
        finally:
            reqs = rec.stop()
    during = reqs[(reqs["t"] >= t0) & (reqs["t"] <= t0 + seconds)]
    print(f"\nwordgame: collected in {seconds:.1f} s, {len(during) / seconds:.0f} requests/s during collection, "
          f"{perfkit.cores_used(arch.cpu):.2f} cores, {waiting:.2f} threads in the kernel's run queue")
    return arch, out, during, seconds, waiting


def triage_json(path):
    r = subprocess.run([sys.executable, "-m", "perfkit", "triage", str(path), "--format", "json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    return r


def test_server_was_loaded_while_collected(live_archive):
    arch, _, during, seconds, _ = live_archive
    assert len(during) >= 50 * seconds, f"only {len(during)} requests in {seconds:.1f} s"
    assert during["ok"].mean() > 0.99, during["status"].value_counts()
    assert perfkit.cores_used(arch.cpu) > 0         # the CPU profile saw the server work


def test_triage_cli_on_the_live_archive(live_archive):
    arch, out, _, _, waiting = live_archive
    r = triage_json(out)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    print(json.dumps([(f["kind"], f["severity"], f["title"]) for f in doc["findings"]], indent=1))
    assert set(doc) == {"archive", "baseline", "findings"} and doc["baseline"] is None
    keys = [(SEVERITIES.index(f["severity"]), KINDS.index(f["kind"])) for f in doc["findings"]]
    assert keys == sorted(keys)
    for f in doc["findings"]:
        assert set(f) >= {"kind", "severity", "title", "evidence", "explanation", "next_step"}, f
        assert f["kind"] in KINDS and f["severity"] in SEVERITIES, f
        for e in f["evidence"]:
            assert set(e) >= {"label", "value", "unit", "source"}, e
    high = {f["kind"] for f in doc["findings"] if f["severity"] == "high"}
    gomaxprocs = trace.gomaxprocs(perfkit.read_trace(arch.trace))
    saturated = perfkit.cores_used(arch.cpu) >= 0.7 * gomaxprocs
    starved = waiting >= KERNEL_WAIT_THREADS
    allowed = ({"cpu-saturation"} if saturated else set()) | ({"cpu-starvation"} if starved else set())
    assert high <= allowed, (waiting, doc["findings"])
