"""Triage detectors: one small function per finding kind, ``(archive, baseline, thresholds) -> list[Finding]``.

Only Go runtime and standard-library mechanisms are recognised (crypto/tls handshakes, net/http accept loops,
the GC's workers, sync slow paths, syscall entry points), so the detectors work on any Go service's archive.
"""
from __future__ import annotations

import os
import re
import weakref
from collections.abc import Callable, Mapping

import numpy as np

from ..errors import PerfkitError
from ..formats.archive import DebugArchive, load_archive
from ..model.filter import Filters
from ..model.profile import Profile
from ..model.trace import RUNNABLE
from ..trace import goroutine_time, gc_summary, longest_idle, read_trace, trace_summary
from ..trace.analysis import blocking_intervals, intervals
from ..views.diff import diff
from ..views.goroutines import wait_site
from ..views.normalize import cores_used
from ..views.top import top
from ..views.tree import sample_stacks
from .findings import KINDS, SEVERITIES, Evidence, Finding, Triage, finding_order
from .nethttp import connection_states, requests_per_connection, tls_handshakes, trace_connections
from .thresholds import resolve_thresholds

# -- what the runtime and standard library call things -------------------------------------------------
TLS_HANDSHAKE = r"^crypto/tls\.\(\*Conn\)\.(serverHandshake|clientHandshake)$"
GC_FUNCS = r"^runtime\.(gcBgMarkWorker|gcAssistAlloc|gcAssistAlloc1|bgsweep|bgscavenge|gcMarkTermination|gcStart)$"
# sync's slow paths only: runtime.lock2 and friends are the runtime's own locks (GC, scheduler), not the program's
LOCK_FUNCS = (r"^(sync\.\(\*Mutex\)\.(lockSlow|unlockSlow)|sync\.\(\*RWMutex\)\.(Lock|RLock|Unlock|RUnlock|rUnlockSlow)|"
              r"sync\.runtime_(Semacquire\w*|Semrelease)|internal/sync\.\(\*Mutex\)\.(lockSlow|unlockSlow))$")
# frames of a goroutine blocked on a sync.Mutex / RWMutex: the profile's full stack, or a trace's (runtime frames trimmed)
LOCK_BLOCK = r"^(internal/)?sync\.\(\*(RW)?Mutex\)\.(R?Lock|lockSlow)$|^sync\.runtime_Semacquire(Mutex|RWMutex|RWMutexR)$"
LOCK_WAIT = r"^(sync\.runtime_Semacquire(Mutex|RWMutex|RWMutexR)|sync\.\(\*Mutex\)\.lockSlow|internal/sync\.\(\*Mutex\)\.lockSlow|sync\.\(\*RWMutex\)\.R?Lock)$"
SYSCALL_FUNCS = (r"^(syscall\.(Syscall|Syscall6|Syscall9|RawSyscall|RawSyscall6|RawSyscallNoError|rawSyscallNoError|"
                 r"rawVforkSyscall|syscall|syscall6|syscall6X|syscallX|rawSyscall)|"
                 r"(internal/runtime|runtime/internal)/syscall(/linux)?\.Syscall6|golang\.org/x/sys/unix\.\w*[Ss]yscall\w*)$")
NET_WAIT = r"^(internal/poll\.runtime_pollWait|internal/poll\.\(\*FD\)\.(Read|Accept|Write))$"
FILE_IO = r"^(os\.\(\*File\)\.(Read|Write|ReadAt|WriteAt|Sync)|syscall\.(Fsync|Fdatasync))$"
SIGNATURES = [  # (algorithm, regex over function names)
    ("RSA", r"crypto/rsa\.(SignPSS|signPSSWithSalt|SignPKCS1v15|decrypt|DecryptPKCS1v15|DecryptOAEP)$|"
            r"math/big\.nat\.expNN|crypto/internal/fips140/rsa\."),
    ("ECDSA", r"crypto/ecdsa\.(Sign|SignASN1|signGeneric|sign\w*)$|crypto/internal/fips140/ecdsa\.|p256\w*$"),
    ("Ed25519", r"crypto/ed25519\.Sign$|crypto/internal/fips140/ed25519\."),
]
# specialised bigmod kernels: the modulus size in bits of an RSA private-key operation (CRT primes = key / 2)
RSA_KERNELS = [(r"addMulVVW1024$", "RSA-2048 (1024-bit CRT primes)"), (r"addMulVVW1536$", "RSA-3072"),
               (r"addMulVVW2048$", "RSA-4096")]
ECDSA_CURVES = [(r"P256|p256", "P-256"), (r"P384|p384", "P-384"), (r"P521|p521", "P-521")]

# the wait reason a goroutine's stack shows (the proto goroutine profile has no reason field); first match wins
WAIT_REASONS = [(r"^runtime\.chanrecv", "chan receive"), (r"^runtime\.chansend", "chan send"),
                (r"^runtime\.selectgo$", "select"), (r"^runtime\.block$", "select (no cases)"),
                (r"^sync\.\(\*Cond\)\.Wait$", "sync.Cond.Wait"), (r"^sync\.\(\*WaitGroup\)\.Wait$", "sync.WaitGroup.Wait"),
                (r"^sync\.runtime_Semacquire|^runtime\.semacquire", "semacquire (sync)"),
                (r"^time\.Sleep$", "sleep"), (r"^internal/poll\.runtime_pollWait$", "IO wait"),
                (r"^runtime\.gopark$", "parked")]

_CACHE: dict[int, dict] = {}


def _memo(arch: DebugArchive, key: str, fn: Callable):
    """Per-archive cache of derived data (parsed trace, stacks), dropped with the archive."""
    slot = _CACHE.get(id(arch))
    if slot is None:
        slot = _CACHE[id(arch)] = {}
        weakref.finalize(arch, _CACHE.pop, id(arch), None)
    if key not in slot:
        try:
            slot[key] = fn()
        except PerfkitError as e:
            slot[key] = e
    v = slot[key]
    return None if isinstance(v, PerfkitError) else v


def _problem(arch, key) -> str | None:
    v = _CACHE.get(id(arch), {}).get(key)
    return str(v) if isinstance(v, PerfkitError) else None


def _profile(arch: DebugArchive, kind: str) -> Profile | None:
    return arch.profiles.get(kind)


def _cpu(arch) -> Profile | None:
    p = _profile(arch, "profile")
    return None if p is None or p.is_empty else p


def _trace(arch):
    return _memo(arch, "trace", lambda: read_trace(arch.trace) if arch.trace is not None else None)


def _summary(arch):
    t = _trace(arch)
    return None if t is None else _memo(arch, "summary", lambda: trace_summary(t))


def _gomaxprocs(arch) -> int | None:
    s = _summary(arch)
    return s.gomaxprocs if s is not None and s.gomaxprocs else None


def _demand(arch) -> float | None:
    """Goroutines running or runnable on average in the trace window (CPU demand, in Ps)."""
    t = _trace(arch)
    if t is None or not t.duration_ns:
        return None
    gt = _memo(arch, "gtime", lambda: goroutine_time(t))
    return None if gt is None else float((gt["exec_ns"] + gt["sched_wait_ns"]).sum() / t.duration_ns)


def _lock_waiters(arch) -> float | None:
    """Goroutines blocked on a sync.Mutex / RWMutex on average over the trace window (None without a trace)."""
    t = _trace(arch)
    if t is None or not t.duration_ns:
        return None

    def average():
        iv = blocking_intervals(t, "sync")
        if not len(iv):
            return 0.0
        r = re.compile(LOCK_BLOCK)
        locked = {s for s in iv["stack"].unique().tolist() if any(r.search(fn) for fn, _, _ in t.frames(s))}
        return float(iv["duration"][iv["stack"].isin(locked)].sum() / t.duration_ns)
    return _memo(arch, "lock_waiters", average)


def _stacks(arch, p: Profile, kind: str, index=None):
    return _memo(arch, f"stacks:{kind}:{index}", lambda: sample_stacks(p, index))


def share(arch, p: Profile, kind: str, rx: str, index=None) -> tuple[float, float]:
    """(value, % of total) of the samples with any frame matching ``rx``."""
    st = _stacks(arch, p, kind, index)
    r = re.compile(rx)
    names = {n for fr in st["frames"] for n in fr}
    hit = {n for n in names if r.search(n)}
    mask = np.fromiter((any(f in hit for f in fr) for fr in st["frames"]), bool, len(st))
    v = float(st["value"].to_numpy()[mask].sum()) if len(st) else 0.0
    total = float(st["value"].sum()) if len(st) else 0.0
    return v, (v * 100.0 / total if total else 0.0)


def _cores(p: Profile, ns: float) -> float:
    return ns / 1e9 / p.duration_seconds if p.duration_nanos else float("nan")


def _compare_cpu(arch, base, rx: str, what: str) -> tuple[list[Evidence], str]:
    """Evidence comparing the CPU under the busiest function matching rx in base and target, per second,
    and a title suffix ("changed" or "within sampling noise")."""
    if base is None:
        return [], ""
    b, t = _cpu(base), _cpu(arch)
    if b is None or t is None:
        return [Evidence("baseline comparison", "not possible: a CPU profile is missing", "", "profile")], \
            " (baseline: no CPU profile to compare)"
    try:
        d = diff(b, t, "cpu", normalize="per_second")
    except PerfkitError as e:
        return [Evidence("baseline comparison", f"not possible: {e}", "", "profile")], ""
    r = re.compile(rx)
    m = d[d["name"].map(lambda n: bool(r.search(n)))]
    if not len(m):
        return [Evidence(f"{what} in baseline and target", 0.0, "cores", "profile")], " (none in baseline either)"
    row = m.loc[(m[["base_cum", "target_cum"]].max(axis=1)).idxmax()]
    noise = False if str(row["cum_noise"]) == "<NA>" else bool(row["cum_noise"])
    verdict = "within sampling noise" if noise else "changed"
    ev = [Evidence(f"baseline CPU under {row['name']}", float(row["base_cum"]) / 1e9, "cores", "profile"),
          Evidence(f"target CPU under {row['name']}", float(row["target_cum"]) / 1e9, "cores", "profile"),
          Evidence(f"change per second ({verdict}, ±95 % interval)",
                   float(row["cum_delta"]) / 1e9 if "cum_delta" in row else float(row["target_cum"] - row["base_cum"]) / 1e9,
                   "cores", "profile"),
          Evidence("95 % interval half width", float(row["cum_delta_ci95"]) / 1e9, "cores", "profile")]
    return ev, f" (vs baseline {float(row['base_cum']) / 1e9:.2f} cores: {verdict})"


def _n(p: Profile) -> int:
    i = next((k for k, t in enumerate(p.sample_types) if t.type == "samples"), None)
    return int(p.total(i)) if i is not None else int(p.n_samples)


def _cap(severity: str, arch, th) -> str:
    """Severity capped at low when the process is nearly idle."""
    p = _cpu(arch)
    if p is not None and severity in ("high", "medium") and cores_used(p) < th["min_cores"]:
        return "low"
    return severity


def _level(value: float, medium: float, high: float) -> str | None:
    if value >= high:
        return "high"
    if value >= medium:
        return "medium"
    return None


def _higher(a: str | None, b: str | None) -> str | None:
    """The more severe of two levels (None is below medium)."""
    return min((x for x in (a, b) if x), key=SEVERITIES.index, default=None)


def _missing(kind: str, what: str, next_step: str) -> list[Finding]:
    return [Finding(kind, "info", f"{kind}: not checked ({what})", (), f"This detector needs {what}.", next_step)]


# -- detectors -----------------------------------------------------------------------------------------
def _held_ps(arch) -> float | None:
    """Ps running goroutines on average in the trace window: wall-clock time, CPU or not."""
    s = _summary(arch)
    return None if s is None or not s.gomaxprocs else s.busy_p_share * s.gomaxprocs


def _unserved(arch) -> float | None:
    """Share of the Ps' wall-clock running time the process got no CPU for (profile cores against trace Ps)."""
    p, held = _cpu(arch), _held_ps(arch)
    if p is None or not held:
        return None
    return max(0.0, 1.0 - cores_used(p) / held)


def _starved(arch, th) -> bool:
    u, held = _unserved(arch), _held_ps(arch)
    return u is not None and held >= th["starvation_min_ps"] and u >= th["starvation_medium"]


def detect_cpu_saturation(arch, baseline, th) -> list[Finding]:
    p = _cpu(arch)
    if p is None:
        return _missing("cpu-saturation", "a non-empty CPU profile", "collect /debug/pprof/profile?seconds=30")
    cores = cores_used(p)
    ev = [Evidence("cores used (CPU seconds per wall second)", cores, "cores", "profile")]
    gmp = _gomaxprocs(arch)
    s = _summary(arch)
    if gmp is None:
        ev.append(Evidence("GOMAXPROCS", "not determinable (no trace)", "", "trace"))
        sev, title = "info", f"CPU: {cores:.2f} cores used (GOMAXPROCS unknown without a trace)"
    else:
        ratio = cores / gmp
        ev += [Evidence("GOMAXPROCS", gmp, "", "trace"), Evidence("cores used / GOMAXPROCS", ratio * 100, "%", "profile"),
               Evidence("busy-P share in the trace window", s.busy_p_share * 100, "%", "trace")]
        idle = _memo(arch, "idle", lambda: longest_idle(_trace(arch)))
        if idle is not None:
            ev.append(Evidence("longest stretch with no P running", idle.duration_ms, "ms", "trace"))
        demand = _demand(arch) or 0.0
        ev.append(Evidence("goroutines running or runnable on average (trace)", demand, "goroutines", "trace"))
        # the trace's busy Ps are wall-clock time: they count as CPU only where the profile shows the CPU
        trace_load = max(s.busy_p_share, demand / gmp)
        sev = _level(ratio, th["cpu_saturation_medium"], th["cpu_saturation_high"]) or "info"
        title_note = ""
        if _starved(arch, th):
            title_note = "; the trace's Ps were busy without the CPU (see cpu-starvation)"
        elif sev != "info":
            sev = _level(max(ratio, trace_load), th["cpu_saturation_medium"], th["cpu_saturation_high"])
        elif trace_load >= th["cpu_saturation_high"]:
            sev = "medium"          # a burst in the (shorter) trace window that the profile averages away
            title_note = f"; the trace's window was busier ({demand / gmp:.1f} goroutines runnable per P)"
        title = f"CPU: {cores:.2f} of {gmp} cores used ({ratio * 100:.0f} % of GOMAXPROCS){title_note}"
    cmp, suffix = ([], "")
    if baseline is not None and _cpu(baseline) is not None:
        b = cores_used(_cpu(baseline))
        ev.append(Evidence("baseline cores used", b, "cores", "profile"))
        # sample counts are Poisson: each estimate's variance is cores^2 / samples
        half = 1.96 * np.sqrt(cores ** 2 / max(_n(p), 1) + b ** 2 / max(_n(_cpu(baseline)), 1))
        noise = abs(cores - b) <= half
        ev.append(Evidence("change 95 % interval half width", float(half), "cores", "profile"))
        suffix = f" (baseline {b:.2f} cores: {'within sampling noise' if noise else 'changed'})"
    return [Finding("cpu-saturation", sev, title + suffix, tuple(ev + cmp),
                    "Cores used is CPU time per wall second; when it approaches GOMAXPROCS every P is busy and "
                    "new work queues for a P.",
                    "If saturated, look at the top functions and the findings below; otherwise CPU is not the "
                    "limit: look at waits (trace, block profile).")]


def detect_cpu_starvation(arch, baseline, th) -> list[Finding]:
    p, t = _cpu(arch), _trace(arch)
    if p is None or t is None:
        return _missing("cpu-starvation", "a non-empty CPU profile and a runtime trace",
                        "collect /debug/pprof/profile?seconds=30 and /debug/pprof/trace?seconds=5")
    held, u = _held_ps(arch), _unserved(arch)
    if held is None or u is None or held < th["starvation_min_ps"]:
        return []
    sev = _level(u, th["starvation_medium"], th["starvation_high"])
    if sev is None:
        return []
    cores = cores_used(p)
    gmp = _gomaxprocs(arch)
    ev = [Evidence("Ps running goroutines on average (trace, wall-clock)", held, "Ps", "trace"),
          Evidence("cores used (CPU profile)", cores, "cores", "profile"),
          Evidence("share of the Ps' running time without CPU", u * 100, "%", "profile"),
          Evidence("GOMAXPROCS", gmp, "", "trace"),
          Evidence("CPU profile window", p.duration_seconds, "s", "profile"),
          Evidence("trace window", t.duration_ns / 1e9, "s", "trace")]
    suffix = ""
    if baseline is not None:
        bu = _unserved(baseline)
        if bu is not None:
            ev.append(Evidence("baseline share without CPU", bu * 100, "%", "profile"))
            suffix = f" (baseline {bu * 100:.0f} %)"
    return [Finding("cpu-starvation", sev,
                    f"Ps held {held:.2f} cores of running goroutines but the process got {cores:.2f} cores "
                    f"({u * 100:.0f} % without CPU){suffix}", tuple(ev),
                    "The trace times a running goroutine by the wall clock; the CPU profile counts the CPU time the "
                    "kernel gave the process. When the Ps hold running goroutines for more time than the process "
                    "gets CPU, its threads wait in the kernel's run queue: a CPU quota (cgroup throttling), CPU "
                    "affinity narrower than GOMAXPROCS, or other processes on the same cores. The two windows are "
                    "collected one after the other, so a load change between them shows here too.",
                    "Compare GOMAXPROCS with the CPUs the process may use (cgroup cpu.max, taskset, the container's "
                    "CPU limit) and with the host's load; set GOMAXPROCS to the quota, or give the process the "
                    "cores. To rule out a load change, collect the profile and trace again under steady load.")]


def _signature(names: set[str]) -> tuple[str, str]:
    algos = [a for a, rx in SIGNATURES if any(re.search(rx, n) for n in names)]
    algo = ", ".join(algos) if algos else "not determinable"
    hint = "not determinable"
    if "RSA" in algos:
        hint = next((h for rx, h in RSA_KERNELS if any(re.search(rx, n) for n in names)), hint)
    elif "ECDSA" in algos:
        hint = next((h for rx, h in ECDSA_CURVES if any(re.search(rx, n) and "ecdsa" in n.lower() or
                                                          re.search(rx, n) and "nistec" in n for n in names)), hint)
    elif "Ed25519" in algos:
        hint = "Ed25519 (256-bit, fixed)"
    return algo, hint


def detect_tls_handshakes(arch, baseline, th) -> list[Finding]:
    p = _cpu(arch)
    if p is None:
        return _missing("tls-handshakes", "a non-empty CPU profile", "collect /debug/pprof/profile?seconds=30")
    ns, pct = share(arch, p, "cpu", TLS_HANDSHAKE, "cpu")
    sev = _level(pct, th["tls_share_medium"], th["tls_share_high"])
    if sev is None:
        return []
    st = _stacks(arch, p, "cpu", "cpu")
    r = re.compile(TLS_HANDSHAKE)
    names = {n for fr in st["frames"] if any(r.search(f) for f in fr) for n in fr}
    algo, hint = _signature(names)
    h = tls_handshakes(p)
    ev = [Evidence("CPU under crypto/tls handshakes (server and client)", pct, "%", "profile"),
          Evidence("cores in handshakes", _cores(p, ns), "cores", "profile"),
          Evidence("signature algorithm", algo, "", "profile"), Evidence("key size", hint, "", "profile")]
    if h.version:
        ev.append(Evidence("TLS version with the most handshake CPU", h.version, "", "profile"))
    for _, row in h.crypto.head(3).iterrows():
        ev.append(Evidence(f"CPU in {row['operation']} ({row['functions']})", float(row["pct"]), "%", "profile"))
    cmp, suffix = _compare_cpu(arch, baseline, TLS_HANDSHAKE, "CPU in handshakes")
    return [Finding("tls-handshakes", _cap(sev, arch, th),
                    f"{pct:.0f} % of CPU in TLS handshakes ({algo} signatures){suffix}", tuple(ev + cmp),
                    "Every full TLS handshake makes the server sign with its private key (RSA is the costliest); "
                    "the cost is per new connection, not per request, so it grows with connection churn.",
                    "Check connection reuse (keep-alive, client pooling, session resumption/tickets); an ECDSA "
                    "P-256 certificate signs ~10x cheaper than RSA-2048.")]


def detect_connection_churn(arch, baseline, th) -> list[Finding]:
    t = _trace(arch)
    allocs = _profile(arch, "allocs")
    rpc = requests_per_connection(allocs) if allocs is not None and not allocs.is_empty else None
    ev: list[Evidence] = []
    accepts = lo = None
    if t is not None:
        c = _memo(arch, "conns", lambda: trace_connections(t))
        accepts, lo = c.accepted_per_s, c.accepted_per_s_low
        ev += [Evidence("new connections per second (goroutines started by an accept loop)", accepts, "1/s", "trace"),
               Evidence("new connections in the trace window", c.accepted, "", "trace")]
        ratio_trace = c.requests / c.accepted if c.accepted else float("nan")
    else:
        ev.append(Evidence("new connections per second", "not checked: no trace", "", "trace"))
        ratio_trace = float("nan")
    ratio = ratio_low = float("nan")
    rtxt = ""
    if rpc is not None and rpc.ratio == rpc.ratio:
        ratio, ratio_low = rpc.ratio, rpc.low          # sampled counts: severity reads the interval's low end
        ev += [Evidence("requests per connection since start (net/http.readRequest / crypto/tls.Server "
                        "allocations)", ratio, "requests", "allocs"),
               Evidence("95 % interval of requests per connection (allocation sampling)",
                        f"{rpc.low:.1f}-{rpc.high:.1f}", "requests", "allocs")]
        rtxt = f", {ratio:.1f} [{rpc.low:.1f}-{rpc.high:.1f}] requests per connection"
    elif ratio_trace == ratio_trace:
        ratio = ratio_low = ratio_trace
        ev.append(Evidence("requests per new connection in the trace window", ratio, "requests", "trace"))
        rtxt = f", {ratio:.1f} requests per new connection"
    g = _profile(arch, "goroutine")
    if g is not None and not g.is_empty:
        cs = connection_states(g).set_index("state")["goroutines"]
        ev.append(Evidence("parked keep-alive connections", int(cs.get("idle keep-alive (waiting for the next "
                                                                        "request)", 0)), "goroutines", "goroutine"))
    if accepts is None:
        return [Finding("connection-churn", "info", "connection churn not checked: no trace", tuple(ev),
                        "New connections are counted from the goroutines an accept loop starts in a runtime trace.",
                        "collect /debug/pprof/trace?seconds=5")]
    if accepts < th["churn_accepts_per_s"]:
        return []
    if ratio != ratio:
        sev = "low"
    elif ratio_low < th["churn_requests_per_conn_high"] and lo >= th["churn_accepts_per_s"]:
        sev = "high"
    elif ratio_low < th["churn_requests_per_conn_medium"]:
        sev = "medium"
    else:
        sev = "low"
    suffix = ""
    if baseline is not None:
        bt = _trace(baseline)
        if bt is None:
            suffix = " (baseline has no trace to compare)"
        else:
            bc = _memo(baseline, "conns", lambda: trace_connections(bt))
            blo, bhi = bc.accepted_per_s_low, bc.accepted_per_s_high
            noise = blo <= accepts <= bhi or c.accepted_per_s_low <= bc.accepted_per_s <= c.accepted_per_s_high
            verdict = "within sampling noise" if noise else "changed"
            ev.append(Evidence(f"baseline new connections per second ({verdict}; Poisson 95 % intervals)",
                               bc.accepted_per_s, "1/s", "trace"))
            suffix = f" (vs baseline {bc.accepted_per_s:.0f}/s: {verdict})"
    return [Finding("connection-churn", _cap(sev, arch, th), f"{accepts:.0f} new connections/s{rtxt}{suffix}",
                    tuple(ev),
                    "Each new connection costs an accept, a goroutine, buffers and (with TLS) a full handshake; "
                    "clients that do not reuse connections pay this per request.",
                    "Find which clients reconnect (keep-alive disabled, Connection: close, idle timeouts shorter "
                    "than the request interval, a proxy); raise IdleTimeout / MaxIdleConnsPerHost.")]


def detect_gc_pressure(arch, baseline, th) -> list[Finding]:
    p = _cpu(arch)
    if p is None:
        return _missing("gc-pressure", "a non-empty CPU profile", "collect /debug/pprof/profile?seconds=30")
    ns, pct = share(arch, p, "cpu", GC_FUNCS, "cpu")
    sev = _level(pct, th["gc_share_medium"], th["gc_share_high"])
    if sev is None:
        return []
    ev = [Evidence("CPU in GC (mark workers, assists, sweeping)", pct, "%", "profile"),
          Evidence("cores in GC", _cores(p, ns), "cores", "profile")]
    for rx, label in [(r"^runtime\.gcBgMarkWorker$", "background mark workers"),
                      (r"^runtime\.gcAssistAlloc1?$", "mark assists (allocating goroutines)"),
                      (r"^runtime\.(bgsweep|sweepone)$", "sweeping")]:
        ev.append(Evidence(f"CPU in {label}", share(arch, p, "cpu", rx, "cpu")[1], "%", "profile"))
    t = _trace(arch)
    if t is not None:
        g = _memo(arch, "gc", lambda: gc_summary(t))
        secs = t.duration_ns / 1e9
        ev += [Evidence("GC cycles per second", g.gc_count / secs if secs else float("nan"), "1/s", "trace"),
               Evidence("stop-the-world pause time per second", g.stw_total_ns / 1e6 / secs if secs else float("nan"),
                        "ms/s", "trace"),
               Evidence("longest pause", g.stw_max_ns / 1e6, "ms", "trace")]
    else:
        ev.append(Evidence("GC cycles and pauses", "not checked: no trace", "", "trace"))
    a = _profile(arch, "allocs")
    if a is not None and not a.is_empty:
        ta = top(a, "alloc_space")
        if a.duration_nanos:
            ev.append(Evidence("allocation rate", ta.attrs["total"] / a.duration_seconds, "bytes/s", "allocs"))
        else:
            ev.append(Evidence("allocation rate", "not determinable: the allocs profile counts since process start",
                               "", "allocs"))
        for _, row in ta.sort_values("flat", ascending=False).head(3).iterrows():
            ev.append(Evidence(f"allocated by {row['name']}", float(row["flat_pct"]), "% of bytes", "allocs"))
    cmp, suffix = _compare_cpu(arch, baseline, GC_FUNCS, "GC CPU")
    return [Finding("gc-pressure", _cap(sev, arch, th), f"{pct:.0f} % of CPU in the garbage collector{suffix}",
                    tuple(ev + cmp),
                    "The GC's cost grows with the allocation rate (cycles start every time the heap grows by "
                    "GOGC %) and its mark work with the live heap; when marking falls behind, allocating "
                    "goroutines must assist.",
                    "Reduce allocations at the top allocators (reuse buffers, sync.Pool), or raise GOGC / set "
                    "GOMEMLIMIT if memory allows.")]


def detect_lock_contention(arch, baseline, th) -> list[Finding]:
    ev: list[Evidence] = []
    sev = None
    p = _cpu(arch)
    if p is not None:
        _, pct = share(arch, p, "cpu", LOCK_FUNCS, "cpu")
        ev.append(Evidence("CPU in sync lock slow paths (Mutex.lockSlow, semacquire, ...)", pct, "%", "profile"))
        sev = _level(pct, th["lock_cpu_medium"], th["lock_cpu_high"])
    gmp = _gomaxprocs(arch) or 1
    high_waiters = max(th["lock_waiters_high_per_p"] * gmp, th["lock_waiters_medium"])
    avg = _lock_waiters(arch)
    if avg is not None:
        ev.append(Evidence("goroutines waiting for a sync.Mutex / RWMutex, on average over the trace", avg,
                           "goroutines", "trace"))
        sev = _higher(sev, _level(avg, th["lock_waiters_medium"], high_waiters))
    g = _profile(arch, "goroutine")
    if g is not None and not g.is_empty:
        _, wpct = share(arch, g, "goroutine", LOCK_WAIT)
        waiters = wpct / 100 * g.total(None)
        ev.append(Evidence("goroutines waiting for a sync.Mutex / RWMutex, at one instant", round(waiters),
                           "goroutines", "goroutine"))
        if avg is None:   # one instant cannot show that the waiting lasts: medium at most
            sev = _higher(sev, "medium" if _level(waiters, th["lock_waiters_medium"], high_waiters) else None)
    for kind in ("mutex", "block"):
        q = _profile(arch, kind)
        if q is None or q.is_empty:
            ev.append(Evidence(f"{kind} profile", "empty or missing: not measured", "", kind))
            continue
        tq = top(q, "delay")
        total = tq.attrs["total"]
        if q.duration_nanos:
            ev.append(Evidence(f"{kind} delay per second", total / 1e9 / q.duration_seconds, "s/s", kind))
        else:
            ev.append(Evidence(f"{kind} delay since process start", total / 1e9, "s", kind))
        for _, row in tq.sort_values("cum", ascending=False).head(10).iterrows():
            if not re.match(r"^(runtime|sync|internal)", row["name"]):
                ev.append(Evidence(f"top {kind} site", row["name"], "", kind))
                break
    if sev is None:
        return []
    cmp, suffix = _compare_cpu(arch, baseline, LOCK_FUNCS, "CPU in lock slow paths")
    waiters_txt = next((f"{e.value:.1f} goroutines waiting on locks on average" for e in ev if e.source == "trace"),
                       next((f"{e.value} goroutines waiting on locks (one snapshot)" for e in ev
                             if e.source == "goroutine"), ""))
    cpu_txt = next((f"{e.value:.0f} % of CPU in lock slow paths" for e in ev if e.source == "profile"), "")
    return [Finding("lock-contention", _cap(sev, arch, th) if cpu_txt else sev,
                    "Lock contention: " + ", ".join(x for x in (cpu_txt, waiters_txt) if x) + suffix, tuple(ev + cmp),
                    "A contended sync.Mutex makes goroutines spin, then park on a semaphore; the lock serialises "
                    "them, so adding Ps does not add throughput.",
                    "Find the lock in the mutex profile (runtime.SetMutexProfileFraction) and shorten or shard "
                    "its critical section.")]


def detect_goroutine_leak(arch, baseline, th) -> list[Finding]:
    g = _profile(arch, "goroutine")
    if g is None or g.is_empty:
        return _missing("goroutine-leak", "a goroutine profile", "collect /debug/pprof/goroutine")
    total = int(g.total(None))
    st = _stacks(arch, g, "goroutine")
    r = re.compile(NET_WAIT)
    netmask = st["frames"].map(lambda fr: any(r.search(f) for f in fr))
    # goroutines waiting for the network are bounded by connections, not leaked: rank the other sites
    non_net = st[~netmask]
    by_site = non_net.groupby(non_net["frames"].map(lambda f: wait_site(f) if f else "<no stack>"))["value"].sum() \
        .sort_values(ascending=False)
    ev = [Evidence("goroutines", total, "goroutines", "goroutine"),
          Evidence("waiting for the network (connections)", int(st["value"][netmask].sum()), "goroutines", "goroutine")]
    if not len(by_site):
        return []
    site, n = str(by_site.index[0]), int(by_site.iloc[0])
    pct = n * 100.0 / total
    frames = next((fr for fr in non_net["frames"] if fr and wait_site(fr) == site), ())
    reason = next((why for rx, why in WAIT_REASONS if any(re.search(rx, f) for f in frames)), "not determinable")
    ev += [Evidence("busiest wait site (not a network wait)", site, "", "goroutine"),
           Evidence("wait reason (from the stack)", reason, "", "goroutine"),
           Evidence("goroutines parked there", n, "goroutines", "goroutine"),
           Evidence("their share", pct, "%", "goroutine")]
    sev = _level(n, th["leak_goroutines_medium"], th["leak_goroutines_high"]) if pct >= th["leak_site_share"] else None
    suffix = ""
    if baseline is not None:
        bg = _profile(baseline, "goroutine")
        if bg is None or bg.is_empty:
            suffix = " (baseline has no goroutine profile)"
        else:
            bst = sample_stacks(bg)
            bn = int(bst["value"][bst["frames"].map(lambda f: bool(f) and wait_site(f) == site)].sum())
            ev.append(Evidence("baseline goroutines at that site", bn, "goroutines", "goroutine"))
            grew = n >= th["leak_growth"] * max(bn, 1) and n - bn >= th["leak_goroutines_medium"]
            suffix = f" (baseline {bn}: {'grew' if grew else 'no growth'})"
            if grew and sev is None and pct >= th["leak_site_share"]:
                sev = "medium"
            if not grew and sev == "high":
                sev = "medium"
    if sev is None:
        return []
    return [Finding("goroutine-leak", sev, f"{n} goroutines ({pct:.0f} %) parked at {site} ({reason}){suffix}", tuple(ev),
                    "A goroutine blocked forever (on a channel nobody sends to, a lock, a select without a "
                    "timeout) is never collected; its stack and everything it references stay alive.",
                    "Collect /debug/pprof/goroutine?debug=2 twice a minute apart: a leak grows at the same site; "
                    "give the blocked operation a context or timeout.")]


def detect_syscall_heavy(arch, baseline, th) -> list[Finding]:
    p = _cpu(arch)
    if p is None:
        return _missing("syscall-heavy", "a non-empty CPU profile", "collect /debug/pprof/profile?seconds=30")
    ns, pct = share(arch, p, "cpu", SYSCALL_FUNCS, "cpu")
    sev = _level(pct, th["syscall_share_medium"], th["syscall_share_high"])
    if sev is None:
        return []
    gmp = _gomaxprocs(arch)
    busy = cores_used(p) / gmp if gmp else None
    if sev == "high" and (busy is None or busy < th["busy_for_high"]):
        sev = "medium" if busy is None else "low"
    elif sev == "medium" and busy is not None and busy < th["busy_for_high"] / 2:
        sev = "low"
    t = top(p, "cpu", filters=Filters(focus=SYSCALL_FUNCS, hide=r"^(runtime|syscall|internal/poll|internal/runtime|os)\.|"
                                      r"^(net\.|golang\.org/x/sys)"))
    ev = [Evidence("CPU in syscalls", pct, "%", "profile"), Evidence("cores in syscalls", _cores(p, ns), "cores", "profile")]
    if busy is not None:
        ev.append(Evidence("cores used / GOMAXPROCS", busy * 100, "%", "profile"))
    for _, row in t.sort_values("cum", ascending=False).head(3).iterrows():
        ev.append(Evidence(f"syscall caller {row['name']}", float(row["cum"]) * 100 / max(float(p.total(p.sample_index("cpu"))), 1),
                           "% of CPU", "profile"))
    cmp, suffix = _compare_cpu(arch, baseline, SYSCALL_FUNCS, "CPU in syscalls")
    return [Finding("syscall-heavy", _cap(sev, arch, th), f"{pct:.0f} % of CPU in syscalls{suffix}", tuple(ev + cmp),
                    "Every read, write or poll crosses into the kernel; many small unbuffered calls make the "
                    "boundary itself the cost. On a lightly loaded server most CPU is network syscalls by nature.",
                    "Look at the callers: buffer small writes (bufio), batch, avoid per-request file opens or "
                    "time/rand syscalls.")]


def detect_blocking_io(arch, baseline, th) -> list[Finding]:
    t = _trace(arch)
    ev: list[Evidence] = []
    if t is None:
        g = _profile(arch, "goroutine")
        if g is None or g.is_empty:
            return _missing("blocking-io", "a trace or goroutine profile", "collect /debug/pprof/trace?seconds=5")
        _, npct = share(arch, g, "goroutine", NET_WAIT)
        _, fpct = share(arch, g, "goroutine", FILE_IO)
        ev = [Evidence("goroutines waiting on the network", npct, "%", "goroutine"),
              Evidence("goroutines in file I/O", fpct, "%", "goroutine"),
              Evidence("time blocked per second", "not checked: no trace", "", "trace")]
        return [Finding("blocking-io", "info", f"{fpct:.0f} % of goroutines in file I/O (no trace: time not measured)",
                        tuple(ev), "Without a trace only a snapshot of goroutine states is available.",
                        "collect /debug/pprof/trace?seconds=5")]
    gt = _memo(arch, "gtime", lambda: goroutine_time(t))
    secs = t.duration_ns / 1e9 or float("nan")
    in_sys = gt["syscall_ns"].sum() / 1e9 / secs
    net = gt["block_net_ns"].sum() / 1e9 / secs
    gmp = _gomaxprocs(arch) or 1
    ev = [Evidence("goroutines in syscalls on average (trace)", in_sys, "goroutines", "trace"),
          Evidence("goroutines blocked on the network on average (trace)", net, "goroutines", "trace")]
    top_sys = gt.groupby("created_by")["syscall_ns"].sum().sort_values(ascending=False)
    if len(top_sys) and top_sys.iloc[0] > 0:
        ev.append(Evidence("goroutines in syscalls most, created by", str(top_sys.index[0]), "", "trace"))
    if in_sys < th["syscall_goroutines_medium"] * gmp:
        return []
    suffix = ""
    bt = _trace(baseline) if baseline is not None else None
    if bt is not None and bt.duration_ns:
        bgt = _memo(baseline, "gtime", lambda: goroutine_time(bt))
        b_sys = bgt["syscall_ns"].sum() / bt.duration_ns
        ev.append(Evidence("baseline goroutines in syscalls on average (trace)", float(b_sys), "goroutines", "trace"))
        suffix = f" (baseline {b_sys:.1f})"
    elif baseline is not None:
        suffix = " (baseline has no trace to compare)"
    return [Finding("blocking-io", _cap("medium", arch, th),
                    f"{in_sys:.1f} goroutines in blocking syscalls on average (GOMAXPROCS {gmp}){suffix}", tuple(ev),
                    "A goroutine in a blocking syscall (file I/O, cgo) holds its OS thread; the runtime hands its P "
                    "to another thread, creating threads as needed.",
                    "Check the threadcreate profile and the callers; move file I/O off the request path.")]


def detect_scheduler_latency(arch, baseline, th) -> list[Finding]:
    t = _trace(arch)
    if t is None:
        return _missing("scheduler-latency", "a runtime trace", "collect /debug/pprof/trace?seconds=5")
    iv = _memo(arch, "runnable", lambda: intervals(t, RUNNABLE))
    if iv is None or not len(iv):
        return []
    d = iv["duration"].to_numpy(float) / 1e6
    p99 = float(np.percentile(d, 99))
    sev = _level(p99, th["sched_p99_medium_ms"], th["sched_p99_high_ms"])
    if sev is None:
        return []
    busy = _summary(arch).busy_p_share
    gmp = _gomaxprocs(arch) or 1
    demand = _demand(arch) or 0.0
    starved = _starved(arch, th)
    explained = starved or max(busy, demand / gmp) >= th["cpu_saturation_medium"]
    if explained and sev == "high":
        sev = "medium"          # every P busy, or Ps without CPU: a symptom, reported there
    gt = _memo(arch, "gtime", lambda: goroutine_time(t))
    by = gt.groupby("created_by")["sched_wait_ns"].sum().sort_values(ascending=False)
    ev = [Evidence("runnable-to-running delay p99", p99, "ms", "trace"),
          Evidence("runnable-to-running delay median", float(np.median(d)), "ms", "trace"),
          Evidence("scheduling waits in the window", len(d), "", "trace"),
          Evidence("busy-P share", busy * 100, "%", "trace"),
          Evidence("goroutines running or runnable per P" + (
              " (Ps without CPU: the waits follow from it)" if starved else
              " (Ps saturated: the waits follow from it)" if explained else ""), demand / gmp, "", "trace")]
    if len(by):
        ev.append(Evidence(f"most scheduler wait: goroutines created by {by.index[0] or '?'}",
                           float(by.iloc[0]) / 1e6, "ms", "trace"))
    suffix = ""
    if baseline is not None:
        bt = _trace(baseline)
        if bt is not None:
            biv = _memo(baseline, "runnable", lambda: intervals(bt, RUNNABLE))
            if biv is not None and len(biv):
                b99 = float(np.percentile(biv["duration"].to_numpy(float) / 1e6, 99))
                ev.append(Evidence("baseline p99 delay", b99, "ms", "trace"))
                suffix = f" (baseline {b99:.2f} ms)"
    return [Finding("scheduler-latency", sev, f"p99 runnable-to-running delay {p99:.1f} ms{suffix}", tuple(ev),
                    "A runnable goroutine waits for a P; waits grow when there is more runnable work than Ps, or "
                    "when long non-preemptible work holds Ps.",
                    "Compare cores used with GOMAXPROCS; look for CPU-bound goroutines that starve others.")]


def detect_hot_function(arch, baseline, th) -> list[Finding]:
    p = _cpu(arch)
    if p is None:
        return _missing("hot-function", "a non-empty CPU profile", "collect /debug/pprof/profile?seconds=30")
    t = top(p, "cpu")
    t = t[~t["name"].str.match(r"^(runtime|syscall|internal/runtime|runtime/internal)[./]")]
    if not len(t):
        return []
    row = t.sort_values("flat", ascending=False).iloc[0]
    pct = float(row["flat_pct"])
    sev = "medium" if pct >= th["hot_flat_medium"] else "low" if pct >= th["hot_flat_low"] else None
    if sev is None:
        return []
    ev = [Evidence(f"flat CPU in {row['name']}", pct, "%", "profile"),
          Evidence("its cores", _cores(p, float(row["flat"])), "cores", "profile")]
    # who the time belongs to: a hot function under a handshake or the GC is that mechanism's cost
    st = _stacks(arch, p, "cpu", "cpu")
    owner = ""
    mine = st[st["frames"].map(lambda fr: bool(fr) and fr[0] == row["name"])]
    for rx, what in ((TLS_HANDSHAKE, "crypto/tls handshakes"), (GC_FUNCS, "the garbage collector")):
        r = re.compile(rx)
        under = float(mine["value"][mine["frames"].map(lambda fr: any(r.search(f) for f in fr))].sum())
        if mine["value"].sum() and under / float(mine["value"].sum()) >= 0.5:
            ev.append(Evidence(f"share of its CPU under {what}", under * 100 / float(mine["value"].sum()), "%",
                               "profile"))
            owner = owner or f", mostly under {what}"
    pk = top(p, "cpu", granularity="packages")
    pk = pk[~pk["name"].str.match(r"^(runtime|syscall)$")]
    if len(pk):
        prow = pk.sort_values("flat", ascending=False).iloc[0]
        ev.append(Evidence(f"flat CPU in package {prow['name']}", float(prow["flat_pct"]), "%", "profile"))
    cmp, suffix = _compare_cpu(arch, baseline, "^" + re.escape(str(row["name"])) + "$", "its CPU")
    return [Finding("hot-function", _cap(sev, arch, th), f"{pct:.0f} % of CPU in {row['name']}{owner}{suffix}",
                    tuple(ev + cmp),
                    "One function's own code takes a large share of all CPU; whether that is a problem depends on "
                    "who calls it (see the other findings).",
                    f"perfkit peek PROFILE '{re.escape(str(row['name']))}' to see its callers.")]


def detect_profiling_disabled(arch, baseline, th) -> list[Finding]:
    empty = [k for k in ("block", "mutex") if _profile(arch, k) is None or _profile(arch, k).is_empty]
    if not empty:
        return []
    ev = tuple(Evidence(f"{k} profile", "missing" if _profile(arch, k) is None else "empty (no samples)", "", k)
               for k in empty)
    return [Finding("profiling-disabled", "info", f"{' and '.join(empty)} profile{'s' if len(empty) > 1 else ''} "
                    "empty: not measured", ev,
                    "Go records blocking and mutex contention only when asked: an empty profile means the rate was "
                    "0 (the default), not that nothing blocked.",
                    "Call runtime.SetBlockProfileRate(n) and runtime.SetMutexProfileFraction(n) at start "
                    "(e.g. n = 10000 ns / 100), then collect again.")]


DETECTORS: dict[str, Callable] = {
    "cpu-saturation": detect_cpu_saturation, "cpu-starvation": detect_cpu_starvation,
    "tls-handshakes": detect_tls_handshakes,
    "connection-churn": detect_connection_churn, "gc-pressure": detect_gc_pressure,
    "lock-contention": detect_lock_contention, "goroutine-leak": detect_goroutine_leak,
    "syscall-heavy": detect_syscall_heavy, "blocking-io": detect_blocking_io,
    "scheduler-latency": detect_scheduler_latency, "hot-function": detect_hot_function,
    "profiling-disabled": detect_profiling_disabled,
}
assert tuple(DETECTORS) == KINDS


def _as_archive(a) -> DebugArchive:
    if isinstance(a, DebugArchive):
        return a
    if isinstance(a, (str, os.PathLike)):
        return load_archive(a)
    raise PerfkitError(str(a), "not a debug archive or a path to one")


def triage(archive, baseline=None, *, thresholds: Mapping[str, float] | None = None) -> Triage:
    """Run every detector on an archive (a DebugArchive or a path), optionally against a baseline."""
    arch = _as_archive(archive)
    base = _as_archive(baseline) if baseline is not None else None
    th = resolve_thresholds(thresholds, arch.source)
    found: list[Finding] = []
    for kind, fn in DETECTORS.items():
        try:
            found += fn(arch, base, th)
        except PerfkitError as e:       # an unusual member (odd sample types, a broken trace): say so, go on
            found.append(Finding(kind, "info", f"{kind}: not checked ({' '.join(str(e).split())})", (),
                                 "The detector could not read what it needs from this archive.",
                                 "Check the archive member named in the title."))
    if arch.trace is not None and _trace(arch) is None:
        found.append(Finding("cpu-saturation", "info", "trace not read: trace-based checks skipped",
                             (Evidence("trace", _problem(arch, "trace") or "unreadable", "", "trace"),), 
                             "The runtime trace could not be parsed.", "collect /debug/pprof/trace again"))
    return Triage(arch.source, base.source if base is not None else None, tuple(sorted(found, key=finding_order)))
