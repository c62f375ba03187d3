"""Triage on pathology archives: a Go program with one known pathology runs on loopback, perfkit.collect pulls
an archive from it, and perfkit.triage must name the mechanism (tests/pathology.py, tests/pathologies/main.go).

Each test first checks, from the archive's own profiles with perfkit.top (independent of the detectors), that
the pathology is really there, then that triage reports the right kind at high or medium severity with evidence
that names a function the archive's profile shows carrying the mechanism.
"""
from __future__ import annotations

import json
import re

import pytest

import perfkit
from pathology import COLLECTED, KERNEL_WAIT_THREADS, MODES, RUN_QUEUE_WAIT, pathology_archive_fixture  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.serial]     # they measure CPU and the kernel's run queue

STRONG = ("high", "medium")
KINDS = ("cpu-saturation", "cpu-starvation", "tls-handshakes", "connection-churn", "gc-pressure", "lock-contention",
         "goroutine-leak", "syscall-heavy", "blocking-io", "scheduler-latency", "hot-function",
         "profiling-disabled")

# mode -> (kinds triage must report at high or medium severity, how the mechanism shows in the archive:
# (member, sample index, regex of the functions that carry it, their least cum share in %))
EXPECT = {
    "lock": (("lock-contention",), [("profile", None, r"sync\.\(\*Mutex\)\.(?:Lock|lockSlow|Unlock|unlockSlow)$", 5),
                                    ("mutex", "delay", r"sync\.\(\*Mutex\)\.Unlock$|^main\.", 50),
                                    ("block", "delay", r"sync\.\(\*Mutex\)\.Lock$|^main\.", 50)]),
    "gc": (("gc-pressure",), [("profile", None, r"^runtime\.(?:gcBgMarkWorker|gcAssistAlloc|bgsweep)$", 5),
                              ("allocs", "alloc_space", r"^main\.", 50)]),
    "leak": (("goroutine-leak",), [("goroutine", None, r"^main\.waitForReply$", 90)]),
    "syscall": (("syscall-heavy",), [("profile", None, r"^(?:syscall|internal/runtime/syscall)[./]", 30),
                                     ("profile", None, r"^main\.", 50)]),
    "tls-churn": (("tls-handshakes", "connection-churn"),
                  [("profile", None, r"^crypto/(?:tls\.\(\*serverHandshakeState|rsa\.|internal/fips140/rsa\.)", 20)]),
    "starved": (("cpu-starvation",), [("profile", None, r"^main\.runStarved\.func1$", 90)]),
    "healthy": ((), []),
}


def _triage():
    return perfkit.triage


def mechanism_functions(arch, member, sample_index, regex, min_pct) -> set[str]:
    """Functions of ``arch[member]`` matching ``regex`` with at least ``min_pct`` % cum (perfkit.top)."""
    t = perfkit.top(arch[member], sample_index)
    return set(t.loc[t["name"].str.contains(regex) & (t["cum_pct"] >= min_pct), "name"])


def evidence_text(finding) -> str:
    return "\n".join(f"{e.label} {e.value}" for e in finding.evidence)


@pytest.fixture(scope="module")
def triaged(pathology_archive):
    triage = _triage()
    cache = {}

    def get(mode):
        if mode not in cache:
            arch = pathology_archive(mode)
            cache[mode] = arch, triage(arch)
            print(f"\n{mode}: collected in {COLLECTED[mode]:.1f} s, {perfkit.cores_used(arch.cpu):.2f} cores, "
                  f"{RUN_QUEUE_WAIT[mode]:.2f} threads in the kernel's run queue")
            print(cache[mode][1].frame().to_string())
        return cache[mode]

    return get


@pytest.mark.parametrize("mode", MODES)
def test_pathology_is_in_the_archive(pathology_archive, mode):
    """The program does what it says: checked on the raw profiles, before any detector."""
    arch = pathology_archive(mode)
    for member, index, regex, pct in EXPECT[mode][1]:
        assert mechanism_functions(arch, member, index, regex, pct), (
            mode, member, perfkit.top(arch[member], index).head(15).to_string())
    cores = perfkit.cores_used(arch.cpu)
    if mode == "leak":
        g = perfkit.top(arch["goroutine"])
        assert g["flat"].sum() >= 1000, g.head().to_string()
    if mode == "healthy":
        assert cores < 0.3, cores
    if mode == "starved":                   # pinned to one CPU: at most one core, threads queued in the kernel
        assert cores < 1.1, cores
        assert RUN_QUEUE_WAIT[mode] >= 1.0, RUN_QUEUE_WAIT[mode]


@pytest.mark.parametrize("mode", MODES)
def test_triage_follows_the_contract(triaged, mode):
    _, tri = triaged(mode)
    doc = json.loads(json.dumps(tri.as_dict()))
    assert set(doc) == {"archive", "baseline", "findings"} and doc["baseline"] is None
    order = {s: i for i, s in enumerate(("high", "medium", "low", "info"))}
    keys = [(order[f["severity"]], KINDS.index(f["kind"])) for f in doc["findings"]]   # kinds in vocabulary order
    assert keys == sorted(keys)
    for f in doc["findings"]:
        assert set(f) >= {"kind", "severity", "title", "evidence", "explanation", "next_step"}, f
        assert f["kind"] in KINDS and "\n" not in f["title"] and f["title"], f
        for e in f["evidence"]:
            assert set(e) >= {"label", "value", "unit", "source"}, e
    assert list(tri.frame()["kind"]) == [f["kind"] for f in doc["findings"]]


@pytest.mark.parametrize("mode", [m for m in MODES if m != "healthy"])
def test_triage_names_the_pathology(triaged, mode):
    arch, tri = triaged(mode)
    kinds, mechanism = EXPECT[mode]
    expected = set().union(*(mechanism_functions(arch, *m) for m in mechanism))
    for kind in kinds:
        strong = [f for f in tri.of_kind(kind) if f.severity in STRONG]
        assert strong, (mode, kind, tri.frame().to_string())
    if mode == "starved":                   # a mechanism of the host, not of a function: numbers checked below
        return
    # the main finding's evidence names a function that carries the mechanism in this archive's own profile
    main = [f for f in tri.of_kind(kinds[0]) if f.severity in STRONG][0]
    text = evidence_text(main)
    assert any(name in text for name in expected), (mode, sorted(expected), text)


def test_starvation_agrees_with_the_kernel(triaged):
    """4 Ps on one CPU: the Ps hold ~4 running goroutines, the process gets ~1 core, and the share without CPU
    matches the kernel's own run-queue count (threads waiting / threads wanting CPU), within the two windows'
    differences."""
    arch, tri = triaged("starved")
    f = [f for f in tri.of_kind("cpu-starvation") if f.severity == "high"]
    assert f, tri.frame().to_string()
    ev = {e.label: e.value for e in f[0].evidence}
    held = ev["Ps running goroutines on average (trace, wall-clock)"]
    unserved = ev["share of the Ps' running time without CPU"] / 100
    assert held > 3.0, ev
    waiting, cores = RUN_QUEUE_WAIT["starved"], perfkit.cores_used(arch.cpu)
    assert abs(unserved - waiting / (waiting + cores)) < 0.15, (ev, waiting, cores)
    # the saturation verdict rests on the CPU the process got, not on the busy Ps
    sat = tri.of_kind("cpu-saturation")[0]
    assert sat.severity not in STRONG and "cpu-starvation" in sat.title, sat.as_dict()


@pytest.mark.parametrize("mode", MODES)
def test_lock_waiting_is_measured_over_the_trace(triaged, mode):
    """Lock waiters come from the trace's sync blocking spans, averaged over its window: at least one of the lock
    program's 64 contenders is parked on the mutex at any time, and no other program contends a lock at all."""
    _, tri = triaged(mode)
    ev = [e for f in tri.of_kind("lock-contention") for e in f.evidence if e.source == "trace"]
    if mode == "lock":
        assert ev and 1.0 <= ev[0].value <= 64, tri.frame().to_string()
        assert "on average" in tri.of_kind("lock-contention")[0].title
    else:
        assert not tri.of_kind("lock-contention") or all(e.value < 1.0 for e in ev), tri.frame().to_string()


def test_tls_finding_names_the_rsa_signature(triaged):
    """The certificate's key is RSA: the tls-handshakes finding must say so."""
    _, tri = triaged("tls-churn")
    f = [f for f in tri.of_kind("tls-handshakes") if f.severity in STRONG][0]
    assert re.search(r"\bRSA\b", f.title + "\n" + evidence_text(f) + "\n" + f.explanation), f.as_dict()


def test_healthy_server_has_no_high_finding(triaged):
    _, tri = triaged("healthy")
    assert not [f for f in tri.findings if f.severity == "high"], tri.frame().to_string()


# Modes whose load is unbounded loops in more goroutines than Ps: they keep every P busy and runnable goroutines
# wait for one, so cpu-saturation and scheduler-latency are true of them as well (the symptom, not the cause).
CPU_BOUND = {"lock", "gc", "syscall", "tls-churn", "starved"}


@pytest.mark.parametrize("mode", MODES)
def test_no_misdiagnosis_at_high_severity(triaged, mode):
    """A high finding is the pathology itself, or its symptoms (CPU_BOUND) for a program that runs busy loops."""
    _, tri = triaged(mode)
    allowed = set(EXPECT[mode][0]) | ({"cpu-saturation", "scheduler-latency"} if mode in CPU_BOUND else set())
    if RUN_QUEUE_WAIT[mode] >= KERNEL_WAIT_THREADS:
        allowed.add("cpu-starvation")
    high = {f.kind for f in tri.findings if f.severity == "high"}
    assert high <= allowed, (mode, tri.frame().to_string())


# Mechanisms that each pathology program lacks by construction: no sync lock is contended outside `lock`, no
# goroutines pile up outside `leak`, no TLS outside `tls-churn`, no connection per request outside it (`healthy`
# keeps its connections alive), and no syscall loop outside `syscall`. (gc-pressure is left out: allocation is a
# side effect of most work, and the TLS handshakes allocate plenty.)
EXCLUSIVE = ("lock-contention", "goroutine-leak", "tls-handshakes", "connection-churn", "syscall-heavy")


@pytest.mark.parametrize("mode", MODES)
def test_no_mechanism_the_program_lacks_at_medium_or_high(triaged, mode):
    _, tri = triaged(mode)
    wrong = {f.kind for f in tri.findings if f.severity in STRONG and f.kind in EXCLUSIVE} - set(EXPECT[mode][0])
    assert not wrong, (mode, tri.frame().to_string())


@pytest.mark.parametrize("mode", MODES)
def test_triage_report_shows_every_finding(triaged, mode, tmp_path):
    import html
    import re

    from perfkit.report import external_references, triage_report
    arch, tri = triaged(mode)
    page = triage_report(arch.source, None, tmp_path / f"{mode}.html", quiet=True).read_text(encoding="utf-8")
    assert external_references(page) == []
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    text = re.sub(r"\s+", " ", text)
    for f in tri.findings:
        assert re.sub(r"\s+", " ", f.title) in text, f.title
