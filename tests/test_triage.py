"""The findings engine: the Fleet pair, the contract, thresholds, and detectors on profiles built here."""
from __future__ import annotations

import json
import shutil

import pytest

import perfkit
from perfkit.analysis import DETECTORS, KINDS, SEVERITIES, THRESHOLDS, Finding, triage
from perfkit.formats.archive import ArchiveFile, DebugArchive
from perfkit.analysis.thresholds import resolve_thresholds


@pytest.fixture(scope="module")
def fleet(fleet_dir):
    return {n: perfkit.load_archive(fleet_dir / n) for n in ("pprof-normal", "pprof-bad-cpu")}


def _high(t):
    return {f.kind for f in t.findings if f.severity == "high"}


def test_bad_archive_gives_tls_and_churn_high(fleet):
    t = triage(fleet["pprof-bad-cpu"])
    assert {"tls-handshakes", "connection-churn"} <= _high(t)
    tls = t.of_kind("tls-handshakes")[0]
    algo = next(e.value for e in tls.evidence if e.label == "signature algorithm")
    assert "RSA" in algo
    # the share in the title is the CPU under the handshake, measured independently here
    cpu = fleet["pprof-bad-cpu"].cpu
    under = perfkit.top(cpu, "cpu", filters=perfkit.Filters(focus=r"^crypto/tls\.\(\*Conn\)\.serverHandshake$"))
    pct = under["flat"].sum() * 100 / cpu.total(cpu.sample_index("cpu"))
    assert f"{pct:.0f} %" in tls.title


def test_bad_against_normal_says_changed(fleet):
    t = triage(fleet["pprof-bad-cpu"], fleet["pprof-normal"])
    assert {"tls-handshakes", "connection-churn"} <= _high(t)
    for kind in ("tls-handshakes", "connection-churn"):
        f = t.of_kind(kind)[0]
        assert "baseline" in f.title and "changed" in f.title
    assert t.baseline == fleet["pprof-normal"].source


def test_normal_archive_has_no_high(fleet):
    t = triage(fleet["pprof-normal"])
    assert not _high(t), t.frame()
    assert t.of_kind("profiling-disabled")[0].severity == "info"


def test_contract_and_order(fleet):
    t = triage(fleet["pprof-bad-cpu"], fleet["pprof-normal"])
    d = json.loads(json.dumps(t.as_dict()))
    assert list(d) == ["archive", "baseline", "findings"]
    for f in d["findings"]:
        assert list(f) == ["kind", "severity", "title", "evidence", "explanation", "next_step"]
        assert f["kind"] in KINDS and f["severity"] in SEVERITIES
        for e in f["evidence"]:
            assert set(e) == {"label", "value", "unit", "source"}
    ranks = [SEVERITIES.index(f["severity"]) for f in d["findings"]]
    assert ranks == sorted(ranks)
    assert list(t.frame().columns) == ["kind", "severity", "title"]
    assert tuple(DETECTORS) == KINDS
    assert perfkit.triage is triage and perfkit.Finding is Finding


def test_thresholds_table_and_override(fleet):
    names = [x.name for x in THRESHOLDS]
    assert len(names) == len(set(names))
    assert all(x.why and x.unit for x in THRESHOLDS)
    with pytest.raises(perfkit.OptionError):
        triage(fleet["pprof-normal"], thresholds={"no_such_threshold": 1})
    # raising the TLS share needed for high above the measured share drops it to medium
    t = triage(fleet["pprof-bad-cpu"], thresholds={"tls_share_high": 99.0})
    assert t.of_kind("tls-handshakes")[0].severity == "medium"
    assert resolve_thresholds({"gc_share_high": 30})["gc_share_high"] == 30.0


def test_archive_without_trace_says_what_it_could_not_check(fleet_dir, tmp_path):
    d = tmp_path / "notrace"
    shutil.copytree(fleet_dir / "pprof-bad-cpu", d)
    (d / "trace").unlink()
    t = triage(str(d))
    churn = t.of_kind("connection-churn")[0]
    assert churn.severity == "info" and "no trace" in churn.title
    sched = t.of_kind("scheduler-latency")[0]
    assert sched.severity == "info" and "not checked" in sched.title
    assert "tls-handshakes" in _high(t)


# -- detectors on profiles built here ---------------------------------------------------------------------
PERIOD = 10_000_000        # 100 Hz, as Go's CPU profiler


def _cpu_archive(stacks_samples, seconds=10.0) -> DebugArchive:
    b = perfkit.ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
                               period=PERIOD, duration_nanos=int(seconds * 1e9), source="synthetic/profile")
    for stack, n in stacks_samples:
        b.add_sample([(fn, "x.go", 1) for fn in stack], [n, n * PERIOD])
    p = b.build()
    return DebugArchive("synthetic", [ArchiveFile("profile", "profile", 0, profile=p)])


def _gc_share_archive(gc_samples, other_samples):
    return _cpu_archive([(["runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"], gc_samples),
                         (["main.work", "main.main"], other_samples)])


def test_gc_pressure_from_mark_workers():
    a = _gc_share_archive(600, 400)                 # 60 % of samples under runtime.gcBgMarkWorker
    found = DETECTORS["gc-pressure"](a, None, resolve_thresholds())
    assert len(found) == 1 and found[0].severity == "high"
    assert "60 %" in found[0].title
    assert any(e.value == "not checked: no trace" for e in found[0].evidence)


def test_gc_pressure_absent_at_two_percent():
    a = _gc_share_archive(20, 980)                  # 2 %
    assert DETECTORS["gc-pressure"](a, None, resolve_thresholds()) == []


def test_lock_slow_path_cpu():
    a = _cpu_archive([(["runtime.procyield", "sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "main.add"], 300),
                      (["main.add"], 700)])
    f = DETECTORS["lock-contention"](a, None, resolve_thresholds())
    assert f and f[0].severity == "high" and "30 %" in f[0].title
    assert any("not measured" in str(e.value) for e in f[0].evidence)   # no mutex/block profiles in it


def test_lock_waiters_in_one_snapshot_are_medium_at_most():
    """50 goroutines parked on a mutex in a goroutine profile, no trace: one instant cannot show the waiting lasts."""
    b = perfkit.ProfileBuilder([("goroutine", "count")], period_type=("goroutine", "count"), period=1, source="g")
    b.add_sample([(fn, "x.go", 1) for fn in ["sync.runtime_SemacquireMutex", "sync.(*Mutex).lockSlow",
                                             "sync.(*Mutex).Lock", "main.add"]], [50])
    b.add_sample([("main.main", "x.go", 1)], [1])
    a = DebugArchive("synthetic", [ArchiveFile("goroutine", "goroutine", 0, profile=b.build())])
    f = DETECTORS["lock-contention"](a, None, resolve_thresholds())
    assert len(f) == 1 and f[0].severity == "medium", f
    assert "50 goroutines waiting on locks (one snapshot)" in f[0].title


def test_syscall_heavy_needs_a_busy_process_for_high():
    a = _cpu_archive([(["internal/runtime/syscall.Syscall6", "syscall.Syscall", "syscall.write", "os.(*File).Write",
                        "main.log"], 800), (["main.main"], 200)])
    f = DETECTORS["syscall-heavy"](a, None, resolve_thresholds())
    # 80 % in syscalls, but GOMAXPROCS is unknown without a trace: never high
    assert f and f[0].severity == "medium" and "80 %" in f[0].title


def test_tls_signature_and_key_size_hint():
    a = _cpu_archive([(["crypto/internal/fips140/bigmod.addMulVVW1024", "crypto/internal/fips140/rsa.decrypt",
                        "crypto/rsa.SignPSS", "crypto/tls.(*serverHandshakeStateTLS13).sendServerCertificate",
                        "crypto/tls.(*Conn).serverHandshake"], 500), (["main.handler"], 500)])
    f = DETECTORS["tls-handshakes"](a, None, resolve_thresholds())[0]
    ev = {e.label: e.value for e in f.evidence}
    assert ev["signature algorithm"] == "RSA" and ev["key size"].startswith("RSA-2048")
    b = _cpu_archive([(["crypto/internal/fips140/nistec.(*P256Point).ScalarBaseMult", "crypto/ecdsa.SignASN1",
                        "crypto/tls.(*Conn).serverHandshake"], 300), (["main.handler"], 700)])
    ev = {e.label: e.value for e in DETECTORS["tls-handshakes"](b, None, resolve_thresholds())[0].evidence}
    assert ev["signature algorithm"] == "ECDSA" and ev["key size"] == "P-256"


def test_idle_process_is_capped_at_low():
    a = _gc_share_archive(3, 1)                    # 4 samples in 10 s: 0.004 cores
    f = DETECTORS["gc-pressure"](a, None, resolve_thresholds())
    assert f[0].severity == "low"


def test_missing_inputs_become_info():
    a = DebugArchive("empty", [])
    t = triage(a)
    assert t.findings and all(f.severity == "info" for f in t.findings)
    assert t.of_kind("profiling-disabled")


def test_readme_renders_the_thresholds_table():
    from conftest import ROOT
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Triage"):text.index("\n## ", text.index("## Triage") + 5)]
    for t in THRESHOLDS:
        assert f"| `{t.kind}` | `{t.name}` | {t.value:g} | {t.unit} | {t.why} |" in section, t.name


def _goroutine_archive(sites, name="synthetic") -> DebugArchive:
    b = perfkit.ProfileBuilder([("goroutine", "count")], period_type=("goroutine", "count"), period=1,
                               source=f"{name}/goroutine")
    for stack, n in sites:
        b.add_sample([(fn, "x.go", 1) for fn in stack], [n])
    return DebugArchive(name, [ArchiveFile("goroutine", "goroutine", 0, profile=b.build())])


LEAK_STACK = ["runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.waitForReply"]
NET_STACK = ["runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait",
             "internal/poll.(*pollDesc).wait", "internal/poll.(*FD).Read", "net.(*conn).Read", "main.serve"]


def test_goroutine_leak_at_one_site_and_growth_against_a_baseline():
    th = resolve_thresholds()
    target = _goroutine_archive([(LEAK_STACK, 12000), (["main.main"], 1)])
    f = DETECTORS["goroutine-leak"](target, None, th)
    assert f and f[0].severity == "high" and "12000 goroutines" in f[0].title and "main.waitForReply" in f[0].title
    assert "(chan receive)" in f[0].title
    base = _goroutine_archive([(LEAK_STACK, 10), (["main.main"], 1)], "base")
    f = DETECTORS["goroutine-leak"](target, base, th)
    assert "grew" in f[0].title
    steady = _goroutine_archive([(LEAK_STACK, 11000), (["main.main"], 1)], "steady")
    f = DETECTORS["goroutine-leak"](target, steady, th)
    assert "no growth" in f[0].title and f[0].severity == "medium"


def test_goroutines_waiting_on_the_network_are_not_a_leak():
    a = _goroutine_archive([(NET_STACK, 20000), (["main.main"], 1)])
    assert DETECTORS["goroutine-leak"](a, None, resolve_thresholds()) == []


def test_a_detector_error_becomes_an_info_finding():
    b = perfkit.ProfileBuilder([("objects", "count")], source="odd/allocs")     # no alloc_space sample type
    b.add_sample([("main.f", "x.go", 1)], [5])
    cpu = _gc_share_archive(600, 400).files[0]
    a = DebugArchive("odd", [cpu, ArchiveFile("allocs", "allocs", 0, profile=b.build())])
    t = triage(a)
    gc = t.of_kind("gc-pressure")
    assert gc and gc[0].severity == "info" and "not checked" in gc[0].title
    json.dumps(t.as_dict())
