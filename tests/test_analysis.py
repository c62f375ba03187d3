"""Investigation helpers on the Fleet archives, checked against go tool pprof where possible."""
from __future__ import annotations

import math
import platform
import subprocess

import pytest

import perfkit
from conftest import ROOT
from gotool import go, pprof_top
from perfkit.analysis.nethttp import allocation_count, connection_states, requests_per_connection, tls_handshakes
from perfkit.analysis.hotpath import hot_path
from perfkit.analysis.runtime_info import runtime_info


@pytest.fixture(scope="module")
def arch(fleet_dir):
    return {a: perfkit.load_archive(fleet_dir / a) for a in ("pprof-normal", "pprof-bad-cpu")}


def test_runtime_info_fleet(arch):
    info = runtime_info(arch["pprof-bad-cpu"].cpu)
    assert (info["goos"], info["goarch"], info["go_version"]) == ("darwin", "amd64", "1.17.5")
    assert info["homebrew"] and "sys_darwin.go" in info["goos_evidence"]


def test_runtime_info_this_machine(tmp_path, go_bin):
    subprocess.run([go(), "run", ".", "-o", str(tmp_path), "-d", "300ms"], cwd=ROOT / "tests" / "goprof",
                   check=True, capture_output=True, timeout=300)
    info = runtime_info(perfkit.read_profile(tmp_path / "profile"))
    # a short profile may hold no OS-specific frame: then the answer is "unknown", never a wrong OS
    assert info["goos"] in (None, platform.system().lower())
    assert info["goos"] is not None or info["goos_evidence"] == []
    assert info["goarch"] == {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


@pytest.mark.oracle
def test_tls_handshake_cost_matches_go(arch, fleet_dir, go_bin):
    want, _ = pprof_top(fleet_dir / "pprof-bad-cpu" / "profile", "nanoseconds", "-sample_index=cpu")
    hs = tls_handshakes(arch["pprof-bad-cpu"].cpu)
    assert hs["handshake_cpu"] == want["crypto/tls.(*Conn).serverHandshake"][1]
    assert hs["versions"].iloc[0]["version"] == "TLS 1.3"
    crypto = hs["crypto"].set_index("operation")
    assert crypto.loc["RSA-PSS signature (private key)", "cpu"] == want["crypto/rsa.SignPSS"][1]
    assert hs["steps"].iloc[0]["name"].endswith("sendServerCertificate")
    assert tls_handshakes(arch["pprof-normal"].cpu)["handshake_cpu"] == 0


def test_hot_path(arch):
    cpu = arch["pprof-bad-cpu"].cpu
    path = hot_path(cpu)
    assert path["total"].is_monotonic_decreasing
    tree = perfkit.call_tree(cpu)
    assert path.iloc[0]["total"] == tree.loc[tree.parent == -1, "total"].max()
    assert path.iloc[-1]["total"] == path.iloc[-1]["self"]          # a leaf
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
    assert r["ratio"] == pytest.approx(objs.loc["net/http.readRequest", "flat"] / objs.loc["crypto/tls.Server", "flat"])
    assert r["low"] < r["ratio"] < r["high"]
    c = allocation_count(allocs, "crypto/tls.Server")
    space = perfkit.top(allocs, "alloc_space").set_index("name").loc["crypto/tls.Server", "flat"]
    assert c["samples"] == pytest.approx(space / allocs.period)
    assert c["high"] - c["objects"] == pytest.approx(c["objects"] * 1.96 / math.sqrt(c["samples"]))
    assert allocation_count(allocs, "no.such")["objects"] == 0
