"""The TLS lab's Python driver: report parsing and windows (no Go), then two real scenarios on loopback
whose effects must go the way the mechanism says (a churning RSA-4096 server against a kept-alive ECDSA one)."""
from __future__ import annotations

import json

import pytest

from conftest import ROOT

pytest.importorskip("tls_lab", reason="the TLS lab package is installed by `make setup` (pip install -e lab/tls)")
import tls_lab  # noqa: E402
from perfkit.analysis import requests_per_connection  # noqa: E402
from tls_lab import (HostsReport, Scenario, TLSLabError, count_handshake_errors, handshake_error_class,  # noqa: E402
                     read_hosts_report)

Z_999 = 3.29                        # two-sided 99.9 % normal quantile

pytestmark = pytest.mark.serial     # measures CPU or rates: `make test` runs it alone, after the parallel part

COLS = ["connections", "handshakes_full", "handshakes_resumed", "handshakes_abandoned", "requests_ok",
        "requests_failed"]


def _report(tmp_path, rows, bucket=0.5, start=1000.0, **over):
    d = {"mode": "churn", "hosts": 3, "interval_s": 1.0, "handshake_timeout_s": 0.0, "curves": "x25519",
         "started_unix": start, "duration_s": len(rows) * bucket,
         "totals": {"connections": sum(r[0] for r in rows), "requests_ok": sum(r[4] for r in rows)},
         "latency_ms": {"count": 1, "p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0},
         "checkin_latency_ms": {"count": 1, "p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0},
         "timeline": {"bucket_s": bucket, "start_unix": start, "columns": COLS, "rows": rows}}
    d.update(over)
    p = tmp_path / "report.json"
    p.write_text(json.dumps(d))
    return p


def test_window_rates_weight_partial_buckets(tmp_path):
    # 10 connections in each 0.5 s bucket = 20/s; a window over 1.5 buckets still sees 20/s
    rows = [[10, 10, 0, 0, 10, 0]] * 4
    rep = read_hosts_report(_report(tmp_path, rows))
    r = rep.rates(1000.25, 1001.0)
    assert r["connections"] == pytest.approx(20.0)
    assert rep.counts(1000.0, 1002.0)["requests_ok"] == pytest.approx(40.0)
    # a burst in one bucket only: a window ending before it sees nothing of it
    rows = [[0] * 6, [0] * 6, [30, 30, 0, 0, 30, 0]]
    rep = read_hosts_report(_report(tmp_path, rows))
    assert rep.rates(1000.0, 1001.0)["connections"] == 0
    assert rep.rates(1001.0, 1001.5)["connections"] == pytest.approx(60.0)
    assert rep.requests_per_connection == pytest.approx(1.0)


@pytest.mark.parametrize("mutate, what", [
    (lambda p: p.write_text("{not json"), "not a host simulator report"),
    (lambda p: p.write_text(json.dumps({"mode": "churn"})), "not a host simulator report"),
    (lambda p: p.unlink(), "cannot read"),
])
def test_bad_report_names_the_file(tmp_path, mutate, what):
    p = _report(tmp_path, [[0] * 6])
    mutate(p)
    with pytest.raises(TLSLabError) as e:
        read_hosts_report(p)
    assert str(p) in str(e.value) and what in str(e.value)


def test_wrong_timeline_columns_refused(tmp_path):
    p = _report(tmp_path, [[0] * 6])
    d = json.loads(p.read_text())
    d["timeline"]["columns"] = COLS[::-1]
    p.write_text(json.dumps(d))
    with pytest.raises(TLSLabError, match="timeline columns"):
        read_hosts_report(p)


def test_handshake_error_lines_counted_by_class():
    log = "\n".join([
        "2026/12/02 07:00:00 http: TLS handshake error from 127.0.0.1:5000: EOF",
        "2026/12/02 07:00:00 http: TLS handshake error from 127.0.0.1:5001: EOF",
        "2026/12/02 07:00:01 http: TLS handshake error from 127.0.0.1:5002: read tcp 127.0.0.1:443->127.0.0.1:5002: "
        "read: connection reset by peer",
        "2026/12/02 07:00:01 http: TLS handshake error from [::1]:5003: read tcp [::1]:1->[::1]:2: i/o timeout",
        "2026/12/02 07:00:02 http: TLS handshake error from 127.0.0.1:5004: remote error: tls: bad certificate",
        "some other line mentioning EOF",
    ])
    assert count_handshake_errors(log) == {"eof": 2, "reset": 1, "timeout": 1, "other": 1}
    assert handshake_error_class("tls: first record does not look like a TLS handshake") == "other"


def test_scenario_names_and_refusals():
    s = Scenario("rsa4096", "churn", 1.0)
    assert "RSA-4096" in s.name and "churn" in s.name and s.slug == "churn-rsa4096-t1"
    with pytest.raises(TLSLabError, match="loopback"):
        tls_lab.HostSimulator("https://192.0.2.1:443", "ca.pem", hosts=1, interval=1, binary="/bin/true")
    with pytest.raises(TLSLabError, match="unknown key type"):
        tls_lab.TLSLabServer("rsa1024", binary="/bin/true")
    grid = tls_lab.scenario_grid()
    assert len({g.slug for g in grid}) == len(grid) == 4 * 3 * 2 + 1


def test_hosts_for_load_sizes_the_churn_to_the_signature_cost():
    import pandas as pd
    sig = pd.DataFrame({"algorithm": ["RSA-PSS", "ECDSA P-256"], "bits": [4096, 256], "ms_per_sign": [4.0, 0.05]})
    # 2 cores at load 1: 500 signatures/s of 4 ms; a churning host opens 2 connections per 5 s check-in
    assert tls_lab.hosts_for_load(sig, load=1.0, cores=2, interval_s=5.0) == 1250
    assert tls_lab.hosts_for_load(sig, load=0.5, cores=2, interval_s=10.0) == 1250
    assert tls_lab.hosts_for_load(sig, load=1.0, cores=1, key="ecdsa-p256") == 50_000
    with pytest.raises(TLSLabError, match="must be positive"):
        tls_lab.hosts_for_load(sig, load=0, cores=2)


def test_lab_source_refuses_a_directory_that_is_not_it(tmp_path):
    with pytest.raises(TLSLabError, match="not the TLS lab Go module"):
        tls_lab.lab_source(tmp_path)
    assert tls_lab.lab_source(ROOT / "lab" / "tls") == ROOT / "lab" / "tls"


# ---------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, go_bin):
    from perfkit.analysis import signature_costs
    from perfkit.lab import usable_cores
    out = tmp_path_factory.mktemp("tls-lab")
    # loaded, not saturated: as many hosts (2 requests per check-in every 5 s, a new connection each when
    # churning) as make RSA-4096 signatures take 45 % of the usable cores at this machine's cost per signature;
    # a 4 s warm-up lets the churning server through a few GC cycles, which the allocs estimate needs; the
    # kept-alive hosts check in three to five times in their 20 s (after a ramp of two intervals)
    hosts = tls_lab.hosts_for_load(signature_costs(bits=(4096,), signs=10), load=0.45, cores=usable_cores(None))
    churn = Scenario("rsa4096", "churn", 0.0, hosts=hosts, interval_s=5.0)
    keep = Scenario("ecdsa-p256", "keepalive", 0.0, hosts=hosts, interval_s=5.0)
    return [tls_lab.run_scenario(churn, out / churn.slug, cpu_seconds=3, trace_seconds=1, warmup_s=4.0),
            tls_lab.run_scenario(keep, out / keep.slug, cpu_seconds=3, trace_seconds=1, warmup_s=20.0)]


@pytest.mark.slow
def test_churn_rsa_against_keepalive_ecdsa(two_runs):
    churn, keep = two_runs
    kc, kk = tls_lab.kit_estimates(churn), tls_lab.kit_estimates(keep)
    sc, sk = churn.server_rates("profile"), keep.server_rates("profile")
    # churn: one full handshake per connection, at the hosts' connection rate; keep-alive: almost none
    offered = churn.scenario.hosts * tls_lab.REQUESTS_PER_CHECKIN / churn.scenario.interval_s
    assert sc["handshakes_full"] > 0.7 * offered and sc["handshakes_resumed"] == 0
    # with no client timeout nothing is abandoned: the key signs once per completed full handshake
    assert abs(sc["signatures"] / sc["handshakes_full"] - 1) < 0.05
    assert not kc.accept_limited                       # the premise of the accept-rate check below
    assert sk["handshakes_full"] + sk["handshakes_resumed"] < 0.02 * sc["handshakes_full"]
    # the RSA signature dominates the churning server's handshakes, and the handshakes its CPU
    assert kc.signature.startswith("RSA-PSS") and kc.signature_cores > 0.5 * kc.handshake_cores
    assert kc.handshake_pct > 50 and kk.handshake_pct < 5
    assert "tls-handshakes" in kc.high_findings and "tls-handshakes" not in kk.high_findings
    # CPU: the churning server does several times the work for the same check-ins
    assert sc["cores"] > 4 * sk["cores"]
    # requests per connection: 1 when churning; more than 1 when kept alive (each host's connection lives on),
    # as many as the hosts had sent when the heap snapshot's GC ran. The kit's 95 % interval misses the truth
    # in one run of 20 by design (one CI run did: 2.46-6.59 against 7.0), so coverage is checked at 99.9 %
    rc, rk = (requests_per_connection(r.archive["allocs"], z=Z_999) for r in (churn, keep))
    assert rc.low <= 1.0 <= rc.high
    assert kk.rpc_low > 1.0 and rk.low <= kk.rpc_low
    lo_t, hi_t = keep.heap_profile_span()
    truth = [keep.hosts.counts(keep.hosts.started_unix - 1, t) for t in (lo_t, hi_t)]
    truth = [c["requests_ok"] / c["connections"] for c in truth]
    assert rk.low <= max(truth) and min(truth) <= rk.high
    # the trace's accept rate follows the hosts' connection rate (within the count's Poisson interval,
    # widened by 20 % for the bucketed window edges)
    truth = churn.host_rates("trace")["connections"]
    assert kc.accepted_per_s_low * 0.8 <= truth <= kc.accepted_per_s_high * 1.25
    assert isinstance(churn.hosts, HostsReport) and churn.hosts.totals["requests_ok"] > 0


@pytest.mark.slow
def test_reuse_warmup_ends_when_every_host_holds_a_connection(tmp_path, go_bin):
    # the hosts' first connections spread over the ramp; the warm-up lasts past it until the server has done
    # one full handshake per host, so the measured window sees the steady state: no handshakes at all
    sc = Scenario("ecdsa-p256", "keepalive", 0.0, hosts=60, interval_s=1.0)
    run = tls_lab.run_scenario(sc, tmp_path / sc.slug, cpu_seconds=1, trace_seconds=0.3)
    ramp = tls_lab.RAMP_INTERVALS * sc.interval_s
    assert ramp <= run.warmup_s < ramp + sc.interval_s + 5
    c = run.counters
    assert c[c["t"] <= run.window("profile")[0]]["handshakes_full"].iloc[-1] >= sc.hosts
    r = run.server_rates("measured")
    assert r["handshakes_full"] + r["handshakes_resumed"] == 0 and r["requests"] > 0
    # the ramp is visible in the hosts' own timeline: no burst of every host at once
    first = run.hosts.counts(run.hosts.started_unix, run.hosts.started_unix + ramp / 4)["connections"]
    assert first < sc.hosts / 2

