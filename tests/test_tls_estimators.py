"""notebook 01's TLS estimators against ground truth on today's Go.

tests/tlsgen runs a Go TLS server and its own clients on 127.0.0.1 for about two seconds, writes a CPU
profile and a trace of one window and an allocs profile, and prints what it counted itself (connections
accepted, handshakes full and resumed, handshake errors, requests). Tolerances come from the mechanism:
Poisson intervals for counts, the heap sampler for allocation counts, the CPU profiler's 100 Hz samples.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

import perfkit
from gotool import go
from perfkit.analysis import (call_count, compare_to_signatures, handshake_cost, poisson_interval, requests_per_connection,
                              signature_costs, tls_handshakes, trace_connections)
from perfkit.errors import OptionError
from perfkit.trace import read_trace

pytestmark = pytest.mark.serial     # measures CPU or rates: `make test` runs it alone, after the parallel part

SRC = Path(__file__).resolve().parent / "tlsgen"
RSA_PSS, ECDSA = "RSA-PSS signature (private key)", "ECDSA signature"
Z = 3.29                    # 99.9 %: a single run must not fail one time in twenty
WINDOW = "1200ms"


@pytest.fixture(scope="module")
def tlsgen(tmp_path_factory, go_bin):
    out = tmp_path_factory.mktemp("tlsgen")
    exe = out / "tlsgen"
    r = subprocess.run([go(), "build", "-o", str(exe), "."], cwd=SRC, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "CGO_ENABLED": "0"})
    assert r.returncode == 0, r.stderr
    runs = {}

    def run(key: str, conn: str, *flags: str):
        name = "-".join((key, conn, *flags)).replace("-", "_")
        if name not in runs:
            d = out / name
            d.mkdir()
            p = subprocess.run([str(exe), "-key", key, "-conn", conn, "-window", WINDOW, "-warmup", "400ms",
                                "-out", str(d), *flags], capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            truth = json.loads(p.stdout)
            runs[name] = (truth, perfkit.read_profile(d / "cpu.pb.gz"), read_trace((d / "trace.out").read_bytes()),
                          perfkit.read_profile(d / "allocs.pb.gz"))
        return runs[name]
    return run


@pytest.fixture(scope="module")
def costs(go_bin):
    return signature_costs(bits=(2048, 3072, 4096), signs=8)


@pytest.fixture(scope="module")
def sign_ms(costs):
    costs = costs.set_index(["algorithm", "bits"])["ms_per_sign"]
    return {"rsa2048": costs[("RSA-PSS", 2048)], "rsa3072": costs[("RSA-PSS", 3072)],
            "rsa4096": costs[("RSA-PSS", 4096)], "ecdsa256": costs[("ECDSA P-256", 256)]}


def bracketed(truth: dict, key: str, estimate: int, in_flight: int = 0) -> bool:
    """The trace's count lies between the counts inside it and around it (trace.Start/Stop take time on a
    saturated process), each widened by the Poisson interval (events near the edges land either side) and
    by the connections in flight at each edge when the truth counts a later event than the trace."""
    lo, hi = poisson_interval(estimate, Z)
    return lo - 2 * in_flight <= truth["outer"][key] and truth["window"][key] <= hi + 2 * in_flight


@pytest.mark.slow
@pytest.mark.parametrize("key", ["rsa2048", "rsa3072", "rsa4096", "ecdsa256"])
def test_churn_every_key_type(tlsgen, sign_ms, costs, key):
    """New connection per request plus one client that hangs up after its ClientHello."""
    truth, cpu, tr, allocs = tlsgen(key, "churn", "-workers", "3", "-abandon", "1")
    win = truth["window"]
    assert win["accepted"] > 50 and win["handshake_errors"] > 10, truth

    conn = trace_connections(tr)
    for key_, est in (("accepted", conn.accepted), ("requests", conn.requests),
                      ("connections_served", conn.served)):
        assert bracketed(truth, key_, est), (key_, truth["window"], truth["outer"], est)
    # the server logs a handshake error when its handshake fails, after the client hung up: the
    # connections still handshaking at the trace's edges fall on either side
    assert bracketed(truth, "handshake_errors", conn.abandoned, conn.unfinished), \
        (truth["window"], truth["outer"], conn.abandoned, conn.unfinished)
    assert conn.accepted_per_s_low * conn.seconds <= conn.accepted <= conn.accepted_per_s_high * conn.seconds

    hs = tls_handshakes(cpu)
    assert hs.version == "TLS 1.3" and hs.signs
    ops = set(hs.crypto["operation"])
    # Go 1.24+ clients offer X25519MLKEM768: the server runs X25519 and ML-KEM, and no NIST curve
    # both halves of the hybrid are ~half the key exchange each: with 15 samples (100 Hz) of it, both show
    if hs.key_exchange_cpu >= 1.5e8:
        assert {"X25519 key exchange", "ML-KEM key encapsulation (X25519MLKEM768)"} <= ops
    assert "ECDHE (NIST curves)" not in ops
    assert hs.signature == (ECDSA if key.startswith("ecdsa") else RSA_PSS)
    assert (RSA_PSS in ops) == key.startswith("rsa") and (ECDSA in ops) == key.startswith("ecdsa")
    assert 0 < hs.signature_cpu <= hs.cpu and 0 <= hs.key_exchange_cpu <= hs.cpu
    assert hs.signature_cpu + hs.key_exchange_cpu <= hs.cpu + 1e7 * 2   # disjoint, up to shared samples

    cost = handshake_cost(hs, conn)
    # every accepted connection sent a ClientHello, so the server signed once per accepted connection:
    # signature CPU per connection is one signature (CPU time, so a loaded core changes it little)
    # tolerance: the CPU profile's sampling error (100 Hz) and 1.5x for a busy host's cache and clock
    tol = math.log(1.5) + Z / math.sqrt(hs.signature_cpu / 1e7)
    assert abs(math.log(cost.signature_ms / sign_ms[key])) < tol, (cost, sign_ms[key])
    assert abs(math.log(hs.signed_per_s(sign_ms[key]) / (win["handshakes_full"] / truth["window_s"]))) < tol
    # profile ÷ trace and the trace's own pre-request goroutine time measure the same handshakes; time on a
    # P also counts what the OS ran instead on a loaded host (p_time_per_cpu bounds that inflation)
    assert cost.p_time_per_cpu > 0.8, cost
    assert 0.6 < cost.trace_ms / cost.ms < 1.6 * max(1.0, cost.p_time_per_cpu), cost
    assert cost.ms_low < cost.ms < cost.ms_high
    assert cost.other_ms > -1e-9
    # overhead + this machine's signature predicts this key's handshake (the profile's own ms)
    pred = compare_to_signatures(cost.ms, costs, handshakes_per_s=conn.accepted_per_s,
                                 overhead_ms=cost.ms - cost.signature_ms)
    row = pred.loc[("ECDSA P-256", 256) if key.startswith("ecdsa") else ("RSA-PSS", int(key[3:]))]
    assert abs(math.log(row["handshake_ms_est"] / cost.ms)) < tol
    assert row["cores_at_rate"] == pytest.approx(conn.accepted_per_s * row["handshake_ms_est"] / 1e3)

    rpc = requests_per_connection(allocs, z=Z)     # Go's default heap sampling: few samples, wide interval
    if not math.isnan(rpc.ratio):
        # readRequest counts up to one call more per connection than requests (see the keep-alive test below)
        want = truth["total"]["requests"] / truth["total"]["accepted"]
        assert rpc.low <= want + 1 and want <= rpc.high, (rpc, want)


@pytest.mark.slow
def test_requests_per_connection_on_churn(tlsgen):
    """Heap sampling at one sample per 2 KiB: the ~900-byte Conn and ~320-byte Request are sampled often."""
    truth, _, _, allocs = tlsgen("rsa2048", "churn", "-workers", "3", "-abandon", "1", "-memprofilerate", "2048")
    rpc = requests_per_connection(allocs, z=Z)
    want = truth["total"]["requests"] / truth["total"]["accepted"]
    assert rpc.connection_calls.function.startswith("crypto/tls.Server ")
    assert rpc.connection_calls.samples > 30 and rpc.request_calls.samples > 10, rpc
    assert rpc.low <= want <= rpc.high, (rpc, want)


@pytest.mark.slow
def test_resumed_handshakes_make_no_signature(tlsgen, sign_ms):
    truth, cpu, tr, allocs = tlsgen("rsa2048", "resume", "-workers", "3")
    win = truth["window"]
    assert win["handshakes_resumed"] > 50 and win["handshakes_full"] <= 1, truth
    hs = tls_handshakes(cpu)
    conn = trace_connections(tr)
    assert bracketed(truth, "accepted", conn.accepted)
    if win["handshakes_full"] == 0:
        assert not hs.signs and hs.signature is None and hs.signature_cpu == 0
    # TLS 1.3 resumption still runs the key exchange (PSK + ECDHE); the ticket check itself is cheap
    assert hs.key_exchange_cpu > 0 and hs.resumption_cpu < 0.2 * hs.cpu
    # sendServerCertificate returns at once on a resumed handshake
    assert hs.step_cores("sendServerCertificate") <= 0.02 * hs.cores
    cost = handshake_cost(hs, conn)
    assert cost.signature_ms <= sign_ms["rsa2048"] / max(win["accepted"], 1) * 2
    # no signature: a resumed handshake costs less than one RSA-2048 signature
    assert cost.ms < sign_ms["rsa2048"]
    assert cost.resumption_ms < cost.ms


@pytest.mark.slow
def test_keepalive_counts_exactly_when_every_allocation_is_recorded(tlsgen):
    truth, cpu, tr, allocs = tlsgen("rsa2048", "keepalive", "-workers", "3", "-memprofilerate", "1")
    win, tot = truth["window"], truth["total"]
    assert win["accepted"] == 0 and tot["requests"] > 100, truth
    conn = trace_connections(tr)
    assert conn.accepted == 0 and bracketed(truth, "requests", conn.requests)
    assert tls_handshakes(cpu).cpu == 0
    # MemProfileRate 1 records every allocation: the per-call counts are exact
    rpc = requests_per_connection(allocs)
    assert rpc.connection_calls.objects == tot["accepted"]
    # readRequest allocates the Request before it reads: a keep-alive connection waiting for its next
    # request (or closed by its client) counts one more, so the ratio is high by at most one
    assert 0 <= rpc.request_calls.objects - tot["requests"] <= tot["accepted"]
    assert tot["requests"] / tot["accepted"] <= rpc.ratio <= tot["requests"] / tot["accepted"] + 1
    assert rpc.low <= rpc.ratio <= rpc.high
    # crypto/tls.Server allocates twice per connection (the Conn and a closure): the whole count doubles
    assert requests_per_connection(allocs, per="function").connections.objects == 2 * tot["accepted"]
    assert call_count(allocs, "no.such").objects == 0


def test_compare_to_signatures_needs_its_reference():
    import pandas as pd
    df = pd.DataFrame({"algorithm": ["ECDSA P-256"], "bits": [256], "signs": [10], "ms_per_sign": [0.03]})
    with pytest.raises(OptionError, match="reference"):
        compare_to_signatures(1.0, df)
    assert compare_to_signatures(1.0, df, reference=("ECDSA P-256", 256))["handshake_ratio"].iloc[0] == \
        pytest.approx(1.0 / 0.03)


def test_requests_per_connection_rejects_an_unknown_mode():
    with pytest.raises(OptionError, match="per must be"):
        requests_per_connection(None, per="sites")


@pytest.mark.slow
def test_accept_limited_only_when_every_p_is_busy(tlsgen):
    """A closed loop of clients against RSA-4096 keeps every P busy: the accept count is the server's
    pace, so the connection rate's interval is open above. Paced ECDSA clients leave the Ps idle."""
    _, _, busy_tr, _ = tlsgen("rsa4096", "churn", "-workers", "8")
    busy = trace_connections(busy_tr)
    assert busy.gomaxprocs >= 1 and busy.busy_ps >= 0.9 * busy.gomaxprocs
    assert busy.accept_limited and busy.connect_rate_interval[1] == math.inf
    assert busy.connect_rate_interval[0] == busy.accepted_per_s_low
    _, _, idle_tr, _ = tlsgen("ecdsa256", "churn", "-workers", "1", "-pause", "20ms")
    idle = trace_connections(idle_tr)
    assert idle.accepted > 0 and not idle.accept_limited
    assert idle.connect_rate_interval == (idle.accepted_per_s_low, idle.accepted_per_s_high)
