"""net/http + crypto/tls servers: connection states, TLS handshake cost, churn."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.profile import Profile
from ..views.top import top
from ..views.tree import traces

# (state, regexp over the leaf-first stack joined by " <- "); first match wins
CONNECTION_STATES: list[tuple[str, str]] = [
    ("TLS handshake in progress", r"crypto/tls\.\(\*Conn\)\.(HandshakeContext|Handshake)\b"),
    ("handler running", r"\.ServeHTTP\b"),
    ("idle keep-alive (waiting for the next request)",
     r"net/http\.\(\*connReader\)\.Read <- bufio\.\(\*Reader\)\.(fill|Peek)"),
    ("reading a request", r"net/http\.\(\*conn\)\.readRequest"),
    ("watching for client close (background read)", r"net/http\.\(\*connReader\)\.backgroundRead"),
    ("accept loop", r"net/http\.\(\*Server\)\.Serve\b"),
    ("MySQL query in flight", r"github\.com/go-sql-driver/mysql\.\(\*mysqlConn\)\.(read|write)"),
    ("MySQL connection watcher", r"github\.com/go-sql-driver/mysql\.\(\*mysqlConn\)\.startWatcher"),
    ("database/sql pool", r"^.*database/sql\."),
]


def connection_states(goroutines: Profile, states=None) -> pd.DataFrame:
    """Goroutines per state of an HTTP(S) server, from a goroutine profile.

    Columns: state, goroutines, pct. Stacks no rule matches are 'other'.
    """
    if goroutines.sample_types[goroutines.sample_index(None)].type != "goroutine":
        raise OptionError(goroutines.source, "not a goroutine profile")
    rules = [(s, re.compile(rx)) for s, rx in (states or CONNECTION_STATES)]
    tr = traces(goroutines)
    counts: dict[str, int] = {s: 0 for s, _ in rules}
    counts["other"] = 0
    for frames, n in zip(tr["frames"], tr["value"]):
        text = " <- ".join(frames)
        state = next((s for s, rx in rules if rx.search(text)), "other")
        counts[state] += int(n)
    df = pd.DataFrame({"state": list(counts), "goroutines": list(counts.values())})
    total = int(df["goroutines"].sum())
    df["pct"] = df["goroutines"] * 100.0 / total if total else np.nan
    df.attrs.update(total=total, source=goroutines.source)
    return df


_TLS_VERSION = [("TLS 1.3", r"crypto/tls\.\(\*serverHandshakeStateTLS13\)"),
                ("TLS 1.2 or older", r"crypto/tls\.\(\*serverHandshakeState\)\.")]
_CRYPTO_OPS = [
    ("RSA-PSS signature (private key)", r"^crypto/rsa\.SignPSS$"),
    ("RSA PKCS#1 v1.5 signature (private key)", r"^crypto/rsa\.SignPKCS1v15$"),
    ("RSA decryption (private key)", r"^crypto/rsa\.(DecryptPKCS1v15|DecryptOAEP)$"),
    ("ECDSA signature", r"^crypto/ecdsa\.(Sign|SignASN1|signGeneric)$"),
    ("Ed25519 signature", r"^crypto/ed25519\.Sign$"),
    ("X25519 key exchange", r"curve25519\.(X25519|x25519|ScalarMult)"),
    ("ECDHE (NIST curves)", r"^crypto/(elliptic|ecdh)\..*(ScalarMult|ECDH)"),
    ("certificate verification", r"^crypto/x509\.\(\*Certificate\)\.Verify$"),
]


def _cum(df: pd.DataFrame, rx: str) -> tuple[int, list[str]]:
    r = re.compile(rx)
    hit = df[df["name"].map(lambda n: bool(r.search(n)))]
    return (int(hit["cum"].max()) if len(hit) else 0), list(hit["name"])


def tls_handshakes(cpu: Profile, sample_index="cpu") -> dict:
    """What the server's TLS handshakes cost and what they do, from a CPU profile.

    Returns cores spent in server handshakes, the TLS versions seen, the
    handshake messages (functions under the handshake state machine) and the
    cryptographic operations, each with its cores and share of the profile.
    """
    t = top(cpu, sample_index)
    total = t.attrs["total"]
    secs = cpu.duration_seconds or float("nan")
    hs_rx = r"^crypto/tls\.\(\*Conn\)\.serverHandshake$"
    hs, _ = _cum(t, hs_rx)
    versions = []
    for name, rx in _TLS_VERSION:
        v, fns = _cum(t, rx)
        if v:
            versions.append({"version": name, "cpu": v, "cores": v / 1e9 / secs, "pct": v * 100 / total})
    steps = t[t["name"].str.match(r"^crypto/tls\.\(\*serverHandshakeState(TLS13)?\)\.(send|read|do|process|check|pick)")]
    steps = steps.assign(cores=steps["cum"] / 1e9 / secs, pct=steps["cum"] * 100 / total)
    ops = []
    for name, rx in _CRYPTO_OPS:
        v, fns = _cum(t, rx)
        if v:
            ops.append({"operation": name, "functions": ", ".join(fns), "cpu": v, "cores": v / 1e9 / secs,
                        "pct": v * 100 / total})
    return {
        "handshake_cpu": hs, "handshake_cores": hs / 1e9 / secs, "handshake_pct": hs * 100 / total if total else 0,
        "versions": pd.DataFrame(versions, columns=["version", "cpu", "cores", "pct"]),
        "steps": steps[["name", "cum", "cores", "pct"]].sort_values("cum", ascending=False).reset_index(drop=True),
        "crypto": pd.DataFrame(ops, columns=["operation", "functions", "cpu", "cores", "pct"])
        .sort_values("cpu", ascending=False).reset_index(drop=True),
        "total_cores": total / 1e9 / secs,
    }


def allocation_count(allocs: Profile, function: str, *, flat: bool = True) -> dict:
    """Estimated objects a function allocated since start, with a ~95 % interval.

    Go samples one allocation per ``period`` bytes (512 KiB by default) and
    scales counts up; the number of underlying samples is about
    bytes / period, so the relative error is about 1/sqrt(bytes / period).
    """
    objs = top(allocs, "alloc_objects").set_index("name")
    space = top(allocs, "alloc_space").set_index("name")
    col = "flat" if flat else "cum"
    if function not in objs.index:
        return {"function": function, "objects": 0, "bytes": 0, "samples": 0.0, "low": 0.0, "high": 0.0}
    n = int(objs.loc[function, col])
    b = int(space.loc[function, col])
    period = allocs.period or 512 * 1024
    k = b / period
    rel = 1.96 / math.sqrt(k) if k > 0 else float("inf")
    return {"function": function, "objects": n, "bytes": b, "samples": k,
            "low": max(0.0, n * (1 - rel)), "high": n * (1 + rel)}


def requests_per_connection(allocs: Profile, *, request_fn: str = "net/http.readRequest",
                            connection_fn: str = "crypto/tls.Server") -> dict:
    """Requests served per TLS connection since start, from allocation counts.

    Objects allocated directly by ``request_fn`` (per request) divided by
    those allocated by ``connection_fn`` (one per accepted TLS connection).
    The interval combines both sampling errors (log-normal approximation).
    """
    r = allocation_count(allocs, request_fn)
    c = allocation_count(allocs, connection_fn)
    if not c["objects"] or not r["objects"]:
        return {"ratio": float("nan"), "low": float("nan"), "high": float("nan"), "requests": r, "connections": c}
    ratio = r["objects"] / c["objects"]
    sd = math.sqrt(1 / max(r["samples"], 1e-9) + 1 / max(c["samples"], 1e-9))
    return {"ratio": ratio, "low": ratio * math.exp(-1.96 * sd), "high": ratio * math.exp(1.96 * sd),
            "requests": r, "connections": c}


# the runtime reports goroutines that already existed when tracing began as
# created by the code that started the trace
TRACER_CREATORS = ("runtime/trace.Start", "net/http/pprof.Trace")


def poisson_interval(n: int, z: float = 1.96) -> tuple[float, float]:
    """Approximate 95 % interval of a Poisson count (Wilson-style, never negative)."""
    if n <= 0:
        return 0.0, z * z
    half = z * math.sqrt(n + z * z / 4)
    return max(0.0, n + z * z / 2 - half), n + z * z / 2 + half


def trace_connections(trace) -> dict:
    """New connections and requests per second of a net/http server, from a runtime trace.

    Accepted connections are goroutines created by ``net/http.(*Server).Serve``
    (one per connection); requests are goroutines created by
    ``net/http.(*connReader).startBackgroundRead`` (HTTP/1.x starts one per
    request whose body has been read). Per accepted connection: the CPU time
    (execution) its goroutine got inside the window.
    """
    from ..trace import analysis as ta
    secs = trace.duration_ns / 1e9
    created = ta.goroutine_creation(trace)
    by = created.groupby("creator")["created"].sum()
    accepted = int(by.get("net/http.(*Server).Serve", 0))
    requests = int(by.get("net/http.(*connReader).startBackgroundRead", 0))
    pre = int(sum(by.get(c, 0) for c in TRACER_CREATORS))
    gs = ta.goroutine_time(trace)
    conn = gs[gs["created_by"] == "net/http.(*Server).Serve"]
    lo, hi = poisson_interval(accepted)
    return {
        "seconds": secs, "accepted": accepted, "accepted_per_s": accepted / secs,
        "accepted_per_s_low": lo / secs, "accepted_per_s_high": hi / secs,
        "requests": requests, "requests_per_s": requests / secs,
        "existing_goroutines": pre,
        "created_by": by[~by.index.isin(TRACER_CREATORS)].sort_values(ascending=False),
        "conn_exec_ms_median": float(conn["exec_ns"].median() / 1e6) if len(conn) else float("nan"),
        "conn_exec_ms_mean": float(conn["exec_ns"].mean() / 1e6) if len(conn) else float("nan"),
        "connections": conn,
    }
