"""Investigation helpers on the Fleet archives, checked against go tool pprof where possible."""
from __future__ import annotations

import math
import platform
import subprocess

import pytest

import perfkit
from conftest import ROOT
from gotool import go, pprof_top
from perfkit.trace import goroutine_creation, read_trace
from perfkit import find_go
from perfkit.analysis import (allocation_count, compare_connection_states, connection_states, cpu_change,
                              function_change, handshake_cost, hot_path, requests_per_connection,
                              runtime_info, subsystem_change, tls_handshakes, trace_connections)


@pytest.fixture(scope="module")
def arch(fleet_dir):
    return {a: perfkit.load_archive(fleet_dir / a) for a in ("pprof-normal", "pprof-bad-cpu")}


def test_runtime_info_fleet(arch):
    info = runtime_info(arch["pprof-bad-cpu"].cpu)
    assert (info.goos, info.goarch, info.go_version) == ("darwin", "amd64", "1.17.5")
    assert info.homebrew and "sys_darwin.go" in info.goos_evidence
    assert info.same_build(runtime_info(arch["pprof-normal"].cpu))


def test_runtime_info_this_machine(tmp_path, go_bin):
    subprocess.run([go(), "run", ".", "-o", str(tmp_path), "-d", "300ms"], cwd=ROOT / "tests" / "goprof",
                   check=True, capture_output=True, timeout=300)
    info = runtime_info(perfkit.read_profile(tmp_path / "profile"))
    # a short profile may hold no OS-specific frame: then the answer is "unknown", never a wrong OS
    assert info.goos in (None, platform.system().lower())
    assert info.goos is not None or info.goos_evidence == ()
    assert info.goarch == {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


@pytest.mark.oracle
def test_tls_handshake_cost_matches_go(arch, fleet_dir, go_bin):
    want, _ = pprof_top(fleet_dir / "pprof-bad-cpu" / "profile", "nanoseconds", "-sample_index=cpu")
    cpu = arch["pprof-bad-cpu"].cpu
    hs = tls_handshakes(cpu)
    assert hs.cpu == want["crypto/tls.(*Conn).serverHandshake"][1]
    assert hs.cores == pytest.approx(hs.cpu / cpu.duration_nanos)
    assert hs.version == "TLS 1.3"
    crypto = hs.crypto.set_index("operation")
    assert crypto.loc["RSA-PSS signature (private key)", "cpu"] == want["crypto/rsa.SignPSS"][1]
    assert hs.steps.iloc[0]["step"] == "sendServerCertificate"
    cert = want["crypto/tls.(*serverHandshakeStateTLS13).sendServerCertificate"][1]
    assert hs.steps.iloc[0]["pct_of_handshake"] == pytest.approx(cert * 100 / hs.cpu)
    kx = crypto.loc["X25519 key exchange", "cpu"]
    assert hs.times_key_exchange() == pytest.approx(want["crypto/rsa.SignPSS"][1] / kx)
    assert hs.step_cores("no-such-step") == 0 and hs.operation_cores("X25519 key exchange") > 0
    assert tls_handshakes(arch["pprof-normal"].cpu).cpu == 0


def test_hot_path(arch):
    cpu = arch["pprof-bad-cpu"].cpu
    path = hot_path(cpu)
    assert path["total"].is_monotonic_decreasing
    tree = perfkit.call_tree(cpu)
    assert path.iloc[0]["total"] == tree.loc[tree.parent == -1, "total"].max()
    assert path.iloc[-1]["total"] == path.iloc[-1]["self"]          # a leaf
    assert path["cores"].iloc[0] == pytest.approx(path["total"].iloc[0] / cpu.duration_nanos)
    through = hot_path(cpu, through=r"database/sql")
    assert through["name"].str.contains("database/sql").any()
    assert hot_path(cpu, through="no-such-function").empty


def test_connection_states_account_for_every_goroutine(arch):
    for a in arch.values():
        cs = connection_states(a["goroutine"]).set_index("state")
        assert cs["goroutines"].sum() == a["goroutine"].total()
        assert cs["goroutines"].idxmax() == "idle keep-alive (waiting for the next request)"


def test_requests_per_connection_arithmetic(arch):
    allocs = arch["pprof-normal"]["allocs"]
    r = requests_per_connection(allocs)
    objs = perfkit.top(allocs, "alloc_objects").set_index("name")
    whole = requests_per_connection(allocs, per="function")
    assert whole.ratio == pytest.approx(objs.loc["net/http.readRequest", "flat"] / objs.loc["crypto/tls.Server", "flat"])
    # per call: each function's most-bytes allocation line, read from a lines-granularity top
    lines = perfkit.top(allocs, "alloc_objects", granularity="lines").set_index("name")["flat"]
    space = perfkit.top(allocs, "alloc_space", granularity="lines").set_index("name")["flat"]

    def calls(fn):
        mine = space[space.index.str.startswith(fn + " ") & (lines.reindex(space.index).fillna(0) > 0)]
        return lines[mine.idxmax()]
    assert r.ratio == pytest.approx(calls("net/http.readRequest") / calls("crypto/tls.Server"))
    assert r.low < r.ratio < r.high
    c = allocation_count(allocs, "crypto/tls.Server")
    assert r.connections == c
    space = perfkit.top(allocs, "alloc_space").set_index("name").loc["crypto/tls.Server", "flat"]
    assert c.samples == pytest.approx(space / allocs.period)
    assert c.high - c.objects == pytest.approx(c.objects * 1.96 / math.sqrt(c.samples))
    assert allocation_count(allocs, "no.such").objects == 0
    assert math.isnan(requests_per_connection(allocs, connection_fn="no.such").ratio)


def test_compare_connection_states(arch):
    n, b = arch["pprof-normal"]["goroutine"], arch["pprof-bad-cpu"]["goroutine"]
    cs = compare_connection_states(n, b).set_index("state")
    idle = "idle keep-alive (waiting for the next request)"
    want_n = connection_states(n).set_index("state").loc[idle, "goroutines"]
    want_b = connection_states(b).set_index("state").loc[idle, "goroutines"]
    assert (cs.loc[idle, "base"], cs.loc[idle, "target"]) == (want_n, want_b)
    assert cs.loc[idle, "change_pct"] == pytest.approx((want_b / want_n - 1) * 100)
    assert cs["base"].sum() == n.total() and cs["target"].sum() == b.total()


def test_cpu_and_subsystem_change(arch):
    n, b = arch["pprof-normal"].cpu, arch["pprof-bad-cpu"].cpu
    c = cpu_change(n, b)
    assert c.base_cores == pytest.approx(n.total("cpu") / n.duration_nanos)
    assert c.ratio == pytest.approx(perfkit.cores_used(b) / perfkit.cores_used(n))
    subs = subsystem_change(n, b)
    assert subs["base_cores"].sum() == pytest.approx(c.base_cores)
    assert subs["change_cores"].sum() == pytest.approx(c.extra_cores)
    assert subs["share_of_change_pct"].sum() == pytest.approx(100)
    assert subs["change_cores"].idxmax() == "math/big"
    f = function_change(n, b, "crypto/rsa.SignPSS")
    assert f.base_cores == 0 and f.target_cores > 0.5
    h = function_change(n, b, "net/http.serverHandler.ServeHTTP")
    cum = perfkit.top(b).set_index("name").loc["net/http.serverHandler.ServeHTTP", "cum"]
    assert h.target_cores == pytest.approx(cum / b.duration_nanos)


def test_trace_connections_and_handshake_cost(arch):
    tr = read_trace(arch["pprof-bad-cpu"].trace)
    conn = trace_connections(tr)
    created = goroutine_creation(tr).groupby("creator")["created"].sum()
    assert conn.accepted == created["net/http.(*Server).Serve"] == conn.created("net/http.(*Server).Serve")
    assert conn.accepted_per_s_low < conn.accepted_per_s < conn.accepted_per_s_high
    assert len(conn.connections) == conn.accepted
    assert conn.created("no.such") == 0
    hs = tls_handshakes(arch["pprof-bad-cpu"].cpu)
    cost = handshake_cost(hs, conn)
    assert cost.ms == pytest.approx(hs.cores / conn.accepted_per_s * 1e3)
    assert cost.ms_low < cost.ms < cost.ms_high
    assert 0.5 < cost.trace_to_profile < 2


def test_find_go(tmp_path, monkeypatch, go_bin):
    assert find_go(go_bin) == go_bin
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PERFKIT_GO", raising=False)
    monkeypatch.delenv("GOROOT", raising=False)
    monkeypatch.setattr("perfkit.toolchain.GO_INSTALL_DIR", str(tmp_path))
    with pytest.raises(perfkit.ToolMissingError, match="PERFKIT_GO"):
        find_go()
    monkeypatch.setenv("PERFKIT_GO", go_bin)
    assert find_go() == go_bin
