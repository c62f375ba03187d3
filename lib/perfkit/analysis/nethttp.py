"""net/http + crypto/tls servers: connection states, TLS handshake cost, churn."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import OptionError
from ..model.profile import Profile
from ..model.trace import NOTEXIST, RUNNING
from ..trace import gomaxprocs, goroutine_creation, goroutine_time, p_utilization
from ..trace.analysis import intervals
from ..views.top import top
from ..views.tree import sample_stacks

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
    tr = sample_stacks(goroutines)
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
_HANDSHAKE = r"^crypto/tls\.\(\*Conn\)\.serverHandshake$"
_G = r"(\[.*\])?$"    # generic instantiations: Sign[go.shape...]
# (operation, kind, regexp over function names); an operation's CPU is that of the server-handshake samples with
# any matching frame. Go 1.24+ moved the primitives to crypto/internal/fips140/...: both spellings are listed.
_CRYPTO_OPS = [
    ("RSA-PSS signature (private key)", "signature", r"^crypto/(internal/fips140/)?rsa\.SignPSS$"),
    ("RSA PKCS#1 v1.5 signature (private key)", "signature", r"^crypto/(internal/fips140/)?rsa\.SignPKCS1v15$"),
    ("RSA decryption (private key)", "decryption",
     r"^crypto/(internal/fips140/)?rsa\.(DecryptPKCS1v15|DecryptOAEP|decryptPKCS1v15)$"),
    ("ECDSA signature", "signature",
     r"^crypto/ecdsa\.(Sign|SignASN1|signGeneric|signFIPS|signFIPSDeterministic|signLegacy|\(\*PrivateKey\)\.Sign)"
     + _G + r"|^crypto/internal/fips140/ecdsa\.(Sign|SignDeterministic)" + _G),
    ("Ed25519 signature", "signature", r"^crypto/(internal/fips140/)?ed25519\.(Sign|sign)$"),
    ("X25519 key exchange", "key exchange",
     r"curve25519\.(X25519|x25519|ScalarMult|ScalarBaseMult)|^crypto/ecdh\.(x25519ScalarMult$|\(\*x25519Curve\)\.)"),
    ("ML-KEM key encapsulation (X25519MLKEM768)", "key exchange", r"^crypto/(internal/fips140/)?mlkem\."),
    ("ECDHE (NIST curves)", "key exchange",
     r"^crypto/elliptic\..*(ScalarMult|GenerateKey)|^crypto/ecdh\.\(\*nistCurve" + r"|^crypto/internal/fips140/ecdh\.(ECDH|GenerateKey)"
     + _G),
    ("certificate verification", "verification", r"^crypto/x509\.\(\*Certificate\)\.Verify$"),
]
# the server's resumption path: ticket/PSK lookup, decryption and binder check (TLS 1.3), or the abbreviated handshake
_RESUMPTION = r"^crypto/tls\.\(\*serverHandshakeState(TLS13)?\)\.(checkForResumption|doResumeHandshake)$"


def _cum(df: pd.DataFrame, rx: str) -> tuple[int, list[str]]:
    r = re.compile(rx)
    hit = df[df["name"].map(lambda n: bool(r.search(n)))]
    return (int(hit["cum"].max()) if len(hit) else 0), list(hit["name"])


def _union(stacks: list[tuple[list[str], int]], rx: str) -> tuple[int, list[str]]:
    """Value of the stacks with a frame matching ``rx``, and the matching names (by their cum, largest first)."""
    r = re.compile(rx)
    total, names = 0, {}
    for frames, v in stacks:
        hit = {f for f in frames if r.search(f)}
        if hit:
            total += v
            for f in hit:
                names[f] = names.get(f, 0) + v
    return total, sorted(names, key=lambda f: (-names[f], f))


@dataclass(frozen=True)
class TLSHandshakes:
    """What a server's TLS handshakes cost, from a CPU profile (CPU in ns, cores = CPU per wall second).

    ``versions``: version, cpu, cores, pct. ``steps`` (functions of the handshake state machine,
    largest first): name, step (the method name), cum, cores, pct, pct_of_handshake. ``crypto``
    (cryptographic operations inside server handshakes, largest first): operation, kind ("signature",
    "key exchange", "decryption", "verification"), functions, cpu, cores, pct, pct_of_handshake.
    ``pct`` columns are percentages of the whole profile.

    Only CPU under ``crypto/tls.(*Conn).serverHandshake`` counts: a process's own outgoing TLS (client
    handshakes) is left out, and so is what a connection costs outside the handshake state machine
    (accept, the kernel's TCP work, goroutine start, the first request). A CPU profile cannot count
    handshakes: per-handshake figures need a rate (:meth:`ms_per_handshake`, :func:`handshake_cost`).

    Resumption: a resumed TLS 1.3 handshake (PSK) makes no signature, a full one makes exactly one, so
    ``signature_cpu`` is the CPU of full handshakes' signatures and is 0 when every handshake resumed;
    ``resumption_cpu`` is the CPU of the resumption path (ticket decryption, PSK binder), small even when
    every handshake resumes (the key exchange still runs: TLS 1.3 resumption is PSK + (EC)DHE).
    """

    cpu: int                     # CPU in crypto/tls.(*Conn).serverHandshake and below
    cores: float
    pct: float                   # of the profile's total
    total_cores: float           # the whole profile
    versions: pd.DataFrame
    steps: pd.DataFrame
    crypto: pd.DataFrame
    seconds: float = float("nan")    # the profile's duration
    signature_cpu: int = 0       # ns in private-key signatures (any algorithm) inside server handshakes
    key_exchange_cpu: int = 0    # ns in the (EC)DHE / ML-KEM key exchange inside server handshakes
    resumption_cpu: int = 0      # ns in the resumption path (checkForResumption, doResumeHandshake)

    @property
    def version(self) -> str | None:
        """The TLS version with the most handshake CPU."""
        return str(self.versions.iloc[0]["version"]) if len(self.versions) else None

    def _cores(self, ns: float) -> float:
        return ns / 1e9 / self.seconds if self.seconds else float("nan")

    @property
    def signature_cores(self) -> float:
        return self._cores(self.signature_cpu)

    @property
    def key_exchange_cores(self) -> float:
        return self._cores(self.key_exchange_cpu)

    @property
    def resumption_cores(self) -> float:
        return self._cores(self.resumption_cpu)

    @property
    def signature_pct_of_handshake(self) -> float:
        """Share of server-handshake CPU spent signing (%); NaN without handshakes."""
        return self.signature_cpu * 100 / self.cpu if self.cpu else float("nan")

    @property
    def signs(self) -> bool:
        """Whether any server handshake in the profile made a signature (False: all resumed, or none)."""
        return self.signature_cpu > 0

    @property
    def signature(self) -> str | None:
        """The signature operation with the most CPU (e.g. "RSA-PSS signature (private key)"), None when none."""
        sig = self.crypto[self.crypto["kind"] == "signature"]
        return str(sig.iloc[0]["operation"]) if len(sig) else None

    def ms_per_handshake(self, handshakes_per_s: float) -> float:
        """Server-handshake CPU ms per handshake at ``handshakes_per_s`` (e.g. a trace's accept rate)."""
        return self.cores / handshakes_per_s * 1e3 if handshakes_per_s else float("nan")

    def signature_ms_per_handshake(self, handshakes_per_s: float) -> float:
        """Signature CPU ms per handshake at ``handshakes_per_s``: the cost of one signature times the full
        handshakes' share (0 when all resumed)."""
        return self.signature_cores / handshakes_per_s * 1e3 if handshakes_per_s else float("nan")

    def signed_per_s(self, ms_per_sign: float) -> float:
        """Full (signed) handshakes per second implied by the signature CPU and one signature's cost
        (:func:`signature_costs`, measured on an idle core: on a loaded or different CPU, a bias)."""
        return self.signature_cores * 1e3 / ms_per_sign if ms_per_sign else float("nan")

    def step_cores(self, step: str) -> float:
        """Cores of one handshake step by method name (e.g. "sendSessionTickets"); 0 when absent."""
        hit = self.steps[self.steps["step"] == step]
        return float(hit["cores"].iloc[0]) if len(hit) else 0.0

    def operation_cores(self, operation: str) -> float:
        """Cores of one cryptographic operation (e.g. "X25519 key exchange"); 0 when absent."""
        hit = self.crypto[self.crypto["operation"] == operation]
        return float(hit["cores"].iloc[0]) if len(hit) else 0.0

    def times_key_exchange(self, operation: str | None = None, key_exchange: str = "X25519 key exchange") -> float:
        """How many times the key exchange's CPU an operation (default: the costliest) takes."""
        op = self.crypto.iloc[0] if operation is None else self.crypto.set_index("operation").loc[operation]
        kx = self.crypto.set_index("operation")["cpu"].get(key_exchange, 0)
        return float(op["cpu"]) / max(float(kx), 1.0)


def tls_handshakes(cpu: Profile, sample_index="cpu") -> TLSHandshakes:
    """What the server's TLS handshakes cost and what they do, from a CPU profile.

    The cores spent in server handshakes, the TLS versions seen, the handshake
    messages (functions under the handshake state machine) and the
    cryptographic operations inside them, each with its cores and share of the
    profile; the CPU of signatures, key exchange and the resumption path.
    Works across Go releases (crypto/rsa ... before Go 1.24, crypto/internal/fips140/... after).
    """
    t = top(cpu, sample_index)
    total = t.attrs["total"]
    secs = cpu.duration_seconds or float("nan")

    def cores(v):
        return v / 1e9 / secs

    hs, _ = _cum(t, _HANDSHAKE)
    rh = re.compile(_HANDSHAKE)
    st = sample_stacks(cpu, sample_index)
    stacks = [(fr, int(v)) for fr, v in zip(st["frames"], st["value"]) if any(rh.search(f) for f in fr)]
    versions = []
    for name, rx in _TLS_VERSION:
        v, _ = _cum(t, rx)
        if v:
            versions.append({"version": name, "cpu": v, "cores": cores(v), "pct": v * 100 / total})
    steps = t[t["name"].str.match(r"^crypto/tls\.\(\*serverHandshakeState(TLS13)?\)\.(send|read|do|process|check|pick)")]
    steps = steps.assign(step=steps["name"].str.rsplit(".", n=1).str[-1], cores=cores(steps["cum"]),
                         pct=steps["cum"] * 100 / total,
                         pct_of_handshake=steps["cum"] * 100 / hs if hs else np.nan)
    ops = []
    by_kind: dict[str, str] = {}
    for name, kind, rx in _CRYPTO_OPS:
        by_kind[kind] = f"{by_kind[kind]}|{rx}" if kind in by_kind else rx
        v, fns = _union(stacks, rx)
        if v:
            ops.append({"operation": name, "kind": kind, "functions": ", ".join(fns), "cpu": v, "cores": cores(v),
                        "pct": v * 100 / total, "pct_of_handshake": v * 100 / hs if hs else np.nan})
    return TLSHandshakes(
        cpu=hs, cores=cores(hs), pct=hs * 100 / total if total else 0.0, total_cores=cores(total),
        versions=pd.DataFrame(versions, columns=["version", "cpu", "cores", "pct"]),
        steps=steps[["name", "step", "cum", "cores", "pct", "pct_of_handshake"]]
        .sort_values("cum", ascending=False).reset_index(drop=True),
        crypto=pd.DataFrame(ops, columns=["operation", "kind", "functions", "cpu", "cores", "pct", "pct_of_handshake"])
        .sort_values("cpu", ascending=False, kind="mergesort").reset_index(drop=True),
        seconds=secs, signature_cpu=_union(stacks, by_kind["signature"])[0],
        key_exchange_cpu=_union(stacks, by_kind["key exchange"])[0], resumption_cpu=_union(stacks, _RESUMPTION)[0])


@dataclass(frozen=True)
class AllocationCount:
    """Objects a function allocated since start (estimated from heap samples), with a ~95 % interval."""

    function: str
    objects: int
    bytes: int
    samples: float               # underlying heap samples, about bytes / sampling period
    low: float
    high: float


def allocation_count(allocs: Profile, function: str, *, flat: bool = True) -> AllocationCount:
    """Estimated objects a function allocated since start, with a ~95 % interval.

    Go samples one allocation per ``period`` bytes (512 KiB by default) and
    scales counts up; the number of underlying samples is about
    bytes / period, so the relative error is about 1/sqrt(bytes / period).
    """
    objs = top(allocs, "alloc_objects").set_index("name")
    space = top(allocs, "alloc_space").set_index("name")
    col = "flat" if flat else "cum"
    if function not in objs.index:
        return AllocationCount(function, 0, 0, 0.0, 0.0, 0.0)
    n = int(objs.loc[function, col])
    b = int(space.loc[function, col])
    period = allocs.period or 512 * 1024
    k = b / period
    rel = 1.96 / math.sqrt(k) if k > 0 else float("inf")
    return AllocationCount(function, n, b, k, max(0.0, n * (1 - rel)), n * (1 + rel))


def call_count(allocs: Profile, function: str) -> AllocationCount:
    """Calls of a function that allocates on every call, from its allocation profile (since start).

    A function often allocates at several lines per call (``crypto/tls.Server``: the ``Conn`` and,
    since its method value ``c.serverHandshake`` escapes, a 16-byte closure), so the function's
    object count is a multiple of its calls, and a single sample of a tiny object is scaled up to
    ~period / size objects. Each line's count estimates the calls; this takes the line with the
    most bytes (the most heap samples, so the smallest error). ``function`` of the result is that
    line ("name file:line"). Assumes that line allocates once per call (not conditionally).
    """
    objs = top(allocs, "alloc_objects", granularity="lines")
    space = top(allocs, "alloc_space", granularity="lines").set_index("name")["flat"]
    mine = objs[objs["name"].str.startswith(function + " ") & (objs["flat"] > 0)]
    if not len(mine):
        return AllocationCount(function, 0, 0, 0.0, 0.0, 0.0)
    b = space.reindex(mine["name"]).fillna(0).to_numpy()
    i = int(np.argmax(b))
    n, nb = int(mine["flat"].iloc[i]), int(b[i])
    # expected samples: each object of size s is sampled with probability 1 - exp(-s / period)
    k = n * -math.expm1(-(nb / n) / (allocs.period or 512 * 1024))
    rel = 1.96 / math.sqrt(k) if k > 0 else float("inf")
    return AllocationCount(str(mine["name"].iloc[i]), n, nb, k, max(0.0, n * (1 - rel)), n * (1 + rel))


@dataclass(frozen=True)
class RequestsPerConnection:
    """Requests served per connection since start, with a ~95 % interval (NaN when unknown).

    ``requests``/``connections``: the two functions' whole allocation counts; ``request_calls``/
    ``connection_calls``: the per-call estimates (:func:`call_count`) the ratio is made of
    (``per="function"``: the whole counts, as before).
    """

    ratio: float
    low: float
    high: float
    requests: AllocationCount
    connections: AllocationCount
    request_calls: AllocationCount | None = None
    connection_calls: AllocationCount | None = None


def requests_per_connection(allocs: Profile, *, request_fn: str = "net/http.readRequest",
                            connection_fn: str = "crypto/tls.Server", z: float = 1.96,
                            per: str = "call") -> RequestsPerConnection:
    """Requests served per TLS connection since start, from allocation counts.

    Calls of ``request_fn`` (once per request) divided by calls of ``connection_fn`` (once per
    accepted TLS connection), each from its most-sampled allocation line (:func:`call_count`;
    ``per="function"`` divides the functions' whole object counts instead, which over-counts
    connections on Go releases where ``crypto/tls.Server`` allocates twice).
    The interval (``z``: 1.96 for ~95 %) treats the two heap-sample counts
    as Poisson: given their sum, the requests' share is binomial (Wilson interval),
    which stays honest when one side has only a few samples (a short run, or a
    small per-connection object: the ~900-byte ``Conn`` is sampled about once per
    ~580 connections at Go's default rate). NaN when either side has no sample.

    Mechanism: both counts are since process start and as of the last completed GC,
    so they describe the whole run, not the moment of a CPU profile; a connection
    abandoned during its handshake counts as a connection with no request; ``net/http.readRequest``
    allocates its Request before reading, so a keep-alive connection waiting for its next request, or
    closed by its client, counts one request too many: the ratio is high by up to 1 (measured on Go 1.26).
    """
    if per not in ("call", "function"):
        raise OptionError("requests_per_connection", f"per must be 'call' or 'function', not {per!r}")
    r = allocation_count(allocs, request_fn)
    c = allocation_count(allocs, connection_fn)
    rc, cc = (call_count(allocs, request_fn), call_count(allocs, connection_fn)) if per == "call" else (r, c)
    if not cc.objects or not rc.objects:
        nan = float("nan")
        return RequestsPerConnection(nan, nan, nan, r, c, rc, cc)
    ratio = rc.objects / cc.objects
    nr, nc = max(1, round(rc.samples)), max(1, round(cc.samples))
    lo_p, hi_p = _wilson(nr, nr + nc, z)
    scale = ratio / (nr / nc)
    return RequestsPerConnection(ratio, scale * lo_p / (1 - lo_p),
                                 scale * hi_p / (1 - hi_p) if hi_p < 1 else float("inf"), r, c, rc, cc)


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k / n."""
    p = k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, mid - half), min(1.0, mid + half)


def compare_connection_states(base: Profile, target: Profile, states=None) -> pd.DataFrame:
    """:func:`connection_states` of two goroutine profiles side by side.

    Columns: state, base, target (goroutines), base_pct, target_pct, change (target - base),
    change_pct (relative to the base; NaN where the base has none).
    """
    b = connection_states(base, states).set_index("state")
    t = connection_states(target, states).set_index("state")
    out = pd.DataFrame({"base": b["goroutines"], "target": t["goroutines"],
                        "base_pct": b["pct"], "target_pct": t["pct"]})
    out["change"] = out["target"] - out["base"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = np.where(out["base"] > 0, out["change"] * 100.0 / out["base"], np.nan)
    return out.reset_index()


ACCEPT_LIMITED_BUSY = 0.9     # busy Ps / GOMAXPROCS from which accepts wait for a P

# the runtime reports goroutines that already existed when tracing began as
# created by the code that started the trace
TRACER_CREATORS = ("runtime/trace.Start", "net/http/pprof.Trace")


def poisson_interval(n: int, z: float = 1.96) -> tuple[float, float]:
    """Approximate 95 % interval of a Poisson count (Wilson-style, never negative)."""
    if n <= 0:
        return 0.0, z * z
    half = z * math.sqrt(n + z * z / 4)
    return max(0.0, n + z * z / 2 - half), n + z * z / 2 + half


_ACCEPT = "net/http.(*Server).Serve"
_REQUEST = "net/http.(*connReader).startBackgroundRead"


@dataclass(frozen=True)
class TraceConnections:
    """New connections and requests of a net/http server in a runtime trace's window.

    ``created_by``: goroutines created per creator function (creator, created; largest first,
    goroutines that predate the trace left out). ``connections``: the per-goroutine summary rows
    of the accepted connections' goroutines (:func:`perfkit.trace.goroutine_time` columns) plus
    ``requests`` (requests it started in the window), ``ended`` (the goroutine exited in the window),
    ``pre_request_exec_ns`` (execution before its first request: the TLS handshake and reading the
    request; all of it when it served none).

    Connection outcomes, for connections accepted in the window: ``served`` started at least one
    request; ``abandoned`` ended without one (the client hung up during or right after the handshake,
    or sent nothing: ``http: TLS handshake error ... EOF`` on a TLS server); ``unfinished`` were still open
    without a request, handshaking or waiting, when the trace stopped. A server-side count of handshake
    errors over the same window differs from ``abandoned`` by the connections in flight at its edges
    (about ``unfinished`` at each end: large on a saturated server, whose handshakes queue).
    """

    seconds: float
    accepted: int
    accepted_per_s: float
    accepted_per_s_low: float
    accepted_per_s_high: float
    requests: int
    requests_per_s: float
    existing_goroutines: int
    conn_exec_ms_median: float
    conn_exec_ms_mean: float
    created_by: pd.DataFrame
    connections: pd.DataFrame
    served: int = 0
    abandoned: int = 0
    pre_request_ms_median: float = float("nan")   # served connections: median time on a P before the first request
    busy_ps: float = float("nan")                  # mean Ps running a goroutine (time on a P per second)
    unfinished: int = 0          # accepted in the window, still open without a request when it ended
    gomaxprocs: int = 0          # Ps in the trace (0 when unknown)

    @property
    def accept_limited(self) -> bool:
        """Every P busy (mean busy Ps ≥ 90 % of GOMAXPROCS): the accept loop waits behind runnable
        goroutines, so accepts come in bursts at the server's pace, and a short trace's accept count
        says how fast the server took connections, not how fast clients opened them."""
        return bool(self.gomaxprocs and self.busy_ps >= ACCEPT_LIMITED_BUSY * self.gomaxprocs)

    @property
    def connect_rate_interval(self) -> tuple[float, float]:
        """~95 % interval of the clients' connection rate: the accept rate's Poisson interval, open
        above (to infinity) when :attr:`accept_limited`."""
        return self.accepted_per_s_low, math.inf if self.accept_limited else self.accepted_per_s_high

    def created(self, creator: str) -> int:
        """Goroutines created by one function in the window (0 when none)."""
        hit = self.created_by[self.created_by["creator"] == creator]
        return int(hit["created"].iloc[0]) if len(hit) else 0

    @property
    def ms_between_accepts(self) -> float:
        return 1000.0 / self.accepted_per_s if self.accepted_per_s else float("inf")

    @property
    def abandoned_per_s(self) -> float:
        return self.abandoned / self.seconds if self.seconds else float("nan")

    @property
    def served_per_s(self) -> float:
        return self.served / self.seconds if self.seconds else float("nan")

    @property
    def abandoned_share(self) -> float:
        """Abandoned connections per accepted connection in the window (NaN without accepts)."""
        return self.abandoned / self.accepted if self.accepted else float("nan")

    @property
    def connection_cores(self) -> float:
        """CPU the new connections' goroutines use per second: accepts/s x median execution time."""
        return self.accepted_per_s * self.conn_exec_ms_median / 1e3

    def requests_in(self, ms: float) -> float:
        """Requests expected in ``ms`` milliseconds at this window's request rate."""
        return self.requests_per_s * ms / 1e3


def trace_connections(trace) -> TraceConnections:
    """New connections and requests per second of a net/http server, from a runtime trace.

    Accepted connections are goroutines created by ``net/http.(*Server).Serve``
    (one per connection); requests are goroutines created by
    ``net/http.(*connReader).startBackgroundRead`` (HTTP/1.x starts one per
    request whose body has been read). Per accepted connection: the CPU time
    (execution) its goroutine got inside the window.

    Mechanism: the accept count is exact for the window (its interval is the Poisson one of
    a rate); execution time is the goroutine's own CPU on a P, so it leaves out the kernel's
    TCP work and accept itself; it is time on a P, not CPU, so on a host with more runnable threads
    than cores it also counts the time the OS ran something else (``busy_ps`` over a CPU profile's
    cores of the same window shows how much: :attr:`HandshakeCost.p_time_per_cpu`); it includes the first request's handler on a connection that
    serves one (``pre_request_ms_median`` stops at the first request), and is cut short for
    connections still running when the trace stops. HTTP/2 connections start no
    ``startBackgroundRead`` goroutine: their requests are not counted.
    """
    secs = trace.duration_ns / 1e9
    created = goroutine_creation(trace)
    by = created.groupby("creator")["created"].sum()
    accepted = int(by.get(_ACCEPT, 0))
    requests = int(by.get(_REQUEST, 0))
    pre = int(sum(by.get(c, 0) for c in TRACER_CREATORS))
    gs = goroutine_time(trace)
    conn = gs[gs["created_by"] == _ACCEPT].reset_index(drop=True)
    # requests per connection goroutine, and when its first one started
    cr = trace.tables.creations
    if len(cr) and len(conn):
        codes, uniq = pd.factorize(cr["stack"].to_numpy())
        creator = np.asarray([_creator_name(trace, s) for s in uniq], dtype=object)[codes]
        rq = cr[creator == _REQUEST]
        first = rq.groupby("creator_g")["ts"].min()
        nreq = rq.groupby("creator_g").size()
        tr = trace.tables.transitions
        dead = set(tr.loc[tr["state"].to_numpy() == NOTEXIST, "g"].to_numpy().tolist())
        run = intervals(trace, RUNNING)
        run = run[run["g"].isin(conn["g"])]
        cut = run["g"].map(first).fillna(np.inf).to_numpy()
        before = np.clip(np.minimum(run["end"].to_numpy(), cut) - run["start"].to_numpy(), 0, None)
        pre_ns = pd.Series(before, index=run["g"].to_numpy()).groupby(level=0).sum()
        conn = conn.assign(requests=conn["g"].map(nreq).fillna(0).astype(np.int64),
                           ended=conn["g"].isin(dead),
                           pre_request_exec_ns=conn["g"].map(pre_ns).fillna(0).astype(np.int64))
    else:
        conn = conn.assign(requests=np.zeros(len(conn), np.int64), ended=np.zeros(len(conn), bool),
                           pre_request_exec_ns=np.zeros(len(conn), np.int64))
    served = conn[conn["requests"] > 0]
    lo, hi = poisson_interval(accepted)
    others = by[~by.index.isin(TRACER_CREATORS)].sort_values(ascending=False, kind="mergesort")
    return TraceConnections(
        seconds=secs, accepted=accepted, accepted_per_s=accepted / secs,
        accepted_per_s_low=lo / secs, accepted_per_s_high=hi / secs,
        requests=requests, requests_per_s=requests / secs, existing_goroutines=pre,
        conn_exec_ms_median=float(conn["exec_ns"].median() / 1e6) if len(conn) else float("nan"),
        conn_exec_ms_mean=float(conn["exec_ns"].mean() / 1e6) if len(conn) else float("nan"),
        created_by=others.rename_axis("creator").rename("created").reset_index(),
        connections=conn, served=len(served), abandoned=int(((conn["requests"] == 0) & conn["ended"]).sum()),
        unfinished=int(((conn["requests"] == 0) & ~conn["ended"]).sum()),
        pre_request_ms_median=float(served["pre_request_exec_ns"].median() / 1e6) if len(served) else float("nan"),
        busy_ps=float(p_utilization(trace)["busy_ps"].mean()) if trace.n_events else float("nan"),
        gomaxprocs=gomaxprocs(trace) if trace.n_events else 0)


def _creator_name(trace, sid: int) -> str:
    for fn, _, _ in trace.frames(sid):
        if not fn.startswith("runtime."):
            return fn
    return "?"


@dataclass(frozen=True)
class HandshakeCost:
    """CPU per TLS handshake: a CPU profile's handshake cores over a trace's accept rate (ms of CPU).

    Per accepted connection: a connection closed before its ClientHello costs the handshake
    almost nothing and lowers the figure; one abandoned after the server signed costs a full
    handshake. ``signature_ms`` + ``key_exchange_ms`` + the rest (hashing, record layer,
    session tickets) make ``ms``; ``signature_ms`` is one signature times the share of full
    handshakes (0 when all resumed). ``trace_ms`` is the trace's own, independent estimate: the
    median CPU a served connection's goroutine ran before its first request (handshake plus
    reading the request, without accept and kernel time); it is time on a P, inflated on a host
    with more runnable threads than cores. ``p_time_per_cpu`` (the trace's busy Ps over the profile's
    cores; meaningful only when both cover the same window) shows how much the host inflates time on a P:
    measured 1.1-2.2 on a shared 2-core machine, an upper bound for ``trace_ms / ms`` rather than a correction.
    ``accept_limited`` (:attr:`TraceConnections.accept_limited`): every P was busy, accepts came in bursts,
    so a short trace's accept rate, and ``ms`` with its interval, can be off by more than the interval says.
    """

    ms: float                    # CPU milliseconds per handshake
    ms_low: float                # from the Poisson interval of the accept count alone
    ms_high: float
    trace_cores: float           # the trace's own estimate: accepts/s x median connection CPU
    profile_cores: float         # handshake cores in the CPU profile
    handshakes_per_s: float = float("nan")    # the trace's accepted connections per second
    signature_ms: float = float("nan")        # signature CPU per handshake
    key_exchange_ms: float = float("nan")     # key-exchange CPU per handshake
    resumption_ms: float = float("nan")       # resumption-path CPU per handshake
    trace_ms: float = float("nan")            # median pre-request time on a P of a served connection (trace)
    p_time_per_cpu: float = float("nan")      # the trace's time on a P / the profile's CPU (same window only)
    accept_limited: bool = False              # the trace's accepts waited for a P: rate, ms and interval unreliable

    @property
    def trace_to_profile(self) -> float:
        """The two estimates' ratio (1 = they agree)."""
        return self.trace_cores / self.profile_cores if self.profile_cores else float("nan")

    @property
    def other_ms(self) -> float:
        """Handshake CPU outside the signature and the key exchange, per handshake."""
        return self.ms - self.signature_ms - self.key_exchange_ms


def handshake_cost(handshakes: TLSHandshakes, connections: TraceConnections) -> HandshakeCost:
    """CPU per handshake from a CPU profile (cores in handshakes) and a trace (new connections per second).

    The two come from different windows unless taken together: a change of rate between them
    is an error the interval (the accept count's Poisson interval alone) does not include.
    """
    per_s = connections.accepted_per_s

    def per(cores):
        return cores / per_s * 1e3 if per_s else float("nan")

    return HandshakeCost(
        ms=per(handshakes.cores),
        ms_low=handshakes.cores / connections.accepted_per_s_high * 1e3 if connections.accepted_per_s_high
        else float("nan"),
        ms_high=handshakes.cores / max(connections.accepted_per_s_low, 1e-9) * 1e3,
        trace_cores=connections.connection_cores, profile_cores=handshakes.cores, handshakes_per_s=per_s,
        signature_ms=per(handshakes.signature_cores), key_exchange_ms=per(handshakes.key_exchange_cores),
        resumption_ms=per(handshakes.resumption_cores), trace_ms=connections.pre_request_ms_median,
        p_time_per_cpu=connections.busy_ps / handshakes.total_cores if handshakes.total_cores else float("nan"),
        accept_limited=connections.accept_limited)
