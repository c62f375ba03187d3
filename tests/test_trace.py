"""perfkit.trace on the Fleet traces (go 1.11 format), checked against Go's own parser.

Oracle method (see tests/gotrace/trace_oracle.py):
* event counts: tests/gotrace/countv1 compiled against an unmodified copy of
  $GOROOT/src/internal/trace/internal/tracev1 -- the parser `go tool trace` uses
  for 1.11-1.21 traces. Counts must be equal, type by type.
* blocking profiles: `go tool trace -pprof=net|sync|syscall|sched` (Go 1.26, which
  converts old traces to its 1.22+ model). Per function (cum), contentions must be
  equal and delay within 1e-4 relative (Go forces strictly increasing
  nanosecond timestamps after conversion, which moves spans by a few ns).
  sched matches too since perfkit applies Go's rule: every span is clipped to its
  goroutine's window [first time it ran, end] (GoroutineSummary.StartTime/EndTime in
  cmd/trace's pprofByGoroutine), so spans ending before the first run -- runnable since
  creation, or waiting/in a syscall since the trace started -- and 0-length spans are dropped.
"""
from __future__ import annotations

import io
import json
import subprocess
from types import SimpleNamespace

import pandas as pd
import pytest

import sys
from pathlib import Path

import perfkit

sys.path.insert(0, str(Path(__file__).resolve().parent / "gotrace"))
import trace_oracle as oracle  # noqa: E402
from conftest import ARCHIVES
from perfkit.trace import read_trace
from perfkit.trace import analysis as A
from perfkit.trace.blocking import blocking_profile

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module", params=ARCHIVES)
def fleet_trace(request, fleet_dir):
    path = fleet_dir / request.param / "trace"
    return path, read_trace(path)


def test_event_counts_match_go_parser(fleet_trace, go_bin, tmp_path_factory):
    path, t = fleet_trace
    want = oracle.legacy_counts(go_bin, str(tmp_path_factory.getbasetemp()), path)
    got = dict(zip(t.event_counts()["type"], t.event_counts()["count"].astype(int)))
    assert got == want


@pytest.mark.parametrize("kind", ["net", "sync", "syscall", "sched"])
def test_blocking_profile_matches_go_tool_trace(fleet_trace, go_bin, kind):
    path, t = fleet_trace
    mine = blocking_profile(t, kind)
    ref = perfkit.decode_profile(oracle.go_pprof(go_bin, path, kind), allow_empty=True)
    assert mine.total("contentions") == ref.total("contentions")
    assert abs(mine.total("delay") - ref.total("delay")) <= 1e-4 * ref.total("delay") + 1000
    for st in ("contentions", "delay"):
        a = perfkit.top(mine, st).set_index("name")["cum"]
        b = perfkit.top(ref, st).set_index("name")["cum"]
        d = pd.DataFrame({"mine": a, "go": b}).fillna(0)
        assert set(a.index) == set(b.index)
        tol = 0 if st == "contentions" else 1e-4
        bad = d[(d.mine - d.go).abs() > tol * d.go + (0 if st == "contentions" else 1000)]
        assert bad.empty, bad


def test_profile_readable_by_go_pprof(fleet_trace, go_bin, tmp_path):
    path, t = fleet_trace
    from perfkit.trace.blocking import write_blocking_profile
    out = tmp_path / "net.pb.gz"
    write_blocking_profile(t, "net", out)
    r = subprocess.run([go_bin, "tool", "pprof", "-top", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "internal/poll" in r.stdout


def test_model_and_analyses(fleet_trace):
    path, t = fleet_trace
    ev = t.events
    assert len(ev) == t.n_events and ev["ts"].is_monotonic_increasing
    assert t.version == "1.11" and 0.99e9 < t.duration_ns < 1.01e9
    st = t.stack_table()
    assert {"function", "file", "line"} <= set(st.columns) and (st["line"] > 0).any()
    s = A.trace_summary(t)
    assert s.gomaxprocs == 16 and s.goroutines_created == int((ev["type"] == "GoCreate").sum())
    assert 0 < s.busy_p_share < 1
    util = A.p_utilization(t)
    assert len(util) >= 1000 and (util["busy_ps"] <= 16 + 1e-9).all() and (util["busy_ps"] >= -1e-9).all()
    gs = A.goroutine_states(t)
    assert (gs[["runnable", "running", "waiting", "syscall"]] >= 0).all().all()
    assert (gs["running"] <= 16).all()
    cr = A.goroutine_creation(t)
    assert cr["created"].sum() == s.goroutines_created
    summ = A.goroutine_time(t)
    assert (summ[["exec_ns", "sched_wait_ns", "blocked_ns", "syscall_ns"]] >= 0).all().all()
    gc = A.gc_summary(t)
    assert gc.gc_count >= 0 and 0 <= gc.gc_share <= 1
    assert len(t.tables.heap_samples) == int((ev["type"] == "HeapAlloc").sum())
    # the longest idle stretch: no P run inside it, runs at both edges, and no longer gap between runs
    idle = A.longest_idle(t)
    assert isinstance(idle.start_ms, float) and idle.duration_ms > 1
    a, b = idle.start_ms * 1e6, (idle.start_ms + idle.duration_ms) * 1e6
    pr = t.tables.p_runs
    assert not ((pr["start"] < b - 1) & (pr["end"] > a + 1)).any()
    assert (abs(pr["end"] - a) < 1).any() and (abs(pr["start"] - b) < 1).any()
    busy = pr.sort_values("start")
    reach = busy["end"].cummax().shift()
    assert ((busy["start"] - reach).max() - idle.duration_ms * 1e6) < 1


def test_cli_functions(fleet_dir, tmp_path):
    from perfkit.cli import traces as cli
    path = str(fleet_dir / "pprof-normal" / "trace")
    buf = io.StringIO()
    cli.cmd_summary(SimpleNamespace(path=path, format="json"), buf)
    js = json.loads(buf.getvalue())
    assert js["version"] == "1.11" and js["gomaxprocs"] == 16
    keys = ["source", "version", "events", "duration_s", "gomaxprocs", "goroutines_created", "gc_count",
            "gc_share", "busy_p_share"]
    assert list(js) == keys
    buf = io.StringIO()
    cli.cmd_summary(SimpleNamespace(path=path, format="table"), buf)
    rows = [line.split(None, 1) for line in buf.getvalue().splitlines()]
    assert [r[0] for r in rows] == keys and rows[4][1] == "16" and rows[1][1] == "1.11"
    assert rows[3][1] == f"{js['duration_s']:.4g}"
    buf = io.StringIO()
    cli.cmd_events(SimpleNamespace(path=path, format="csv"), buf)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "type,count" and any(l.startswith("GoBlockNet,") for l in lines)
    out = tmp_path / "sync.pb.gz"
    cli.cmd_pprof(SimpleNamespace(path=path, type="sync", output=str(out)), None)
    assert perfkit.read_profile(out).total("contentions") > 0
    import argparse
    ap = argparse.ArgumentParser()
    cli.add_trace_commands(ap.add_subparsers(dest="command"))
    a = ap.parse_args(["trace", "pprof", path, "--type", "net", "-o", str(out)])
    assert a.func is cli.cmd_pprof
