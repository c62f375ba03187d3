#!/usr/bin/env python3
"""Write a big, realistic synthetic Go CPU profile for the pprof benchmark.

The file looks like what runtime/pprof writes: a gzip-compressed
profile.proto with sample types samples/count and cpu/nanoseconds, period
10ms, one mapping for the binary, functions with Go-style names spread over
stdlib, third-party and application packages, locations (some with an
inlined frame, i.e. two lines) and leaf-first stacks.

Stacks are root-to-node paths of a random call tree built level by level
(so they share prefixes like real ones, with some recursion), 20 to 90
locations deep. Samples draw tree nodes with a Zipf-like skew, so a few
stacks are very hot and there is a long tail of distinct ones.

Usage: bench/make_big_profile.py [--samples N] [--out PATH] [--seed S]

At default settings it asserts >= 100 MB uncompressed and >= 1M samples.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "lib"))   # works without the editable install too
from perfkit.proto import profile_pb2  # noqa: E402

DEFAULT_OUT = HERE / "out" / "big-cpu.pb.gz"
DEFAULT_SAMPLES = 1_000_000
MIN_UNCOMPRESSED = 100 * 1000 * 1000
PERIOD_NS = 10_000_000            # 100 Hz, as runtime/pprof
MIN_DEPTH, MAX_DEPTH = 20, 90     # locations per stack

# ---------------------------------------------------------------------------
# Packages: (import path, layer, number of functions, file root, well-known functions)
# Layers order callers above callees: 1 entry points, 2 servers/middleware,
# 3 application, 4 libraries, 5 low-level stdlib, 6 runtime.
GOROOT = "/usr/local/go/src"
MODS = "/home/app/go/pkg/mod"
APP = "example.com/shop"
APPSRC = "/build/shop"

PACKAGES = [
    # entry points and servers
    ("net/http", 2, 260, GOROOT, ["net/http.(*conn).serve", "net/http.serverHandler.ServeHTTP",
                                  "net/http.HandlerFunc.ServeHTTP", "net/http.(*ServeMux).ServeHTTP",
                                  "net/http.(*response).Write", "net/http.(*chunkWriter).Write",
                                  "net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop",
                                  "net/http.(*Transport).roundTrip", "net/http.(*Client).do",
                                  "net/http.readRequest", "net/http.Header.writeSubset"]),
    ("google.golang.org/grpc", 2, 120, MODS + "/google.golang.org/grpc@v1.71.0",
     ["google.golang.org/grpc.(*Server).handleStream", "google.golang.org/grpc.(*Server).processUnaryRPC",
      "google.golang.org/grpc.(*Server).serveStreams.func2.1"]),
    ("google.golang.org/grpc/internal/transport", 2, 110, MODS + "/google.golang.org/grpc@v1.71.0",
     ["google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams",
      "google.golang.org/grpc/internal/transport.(*loopyWriter).run"]),
    ("github.com/go-chi/chi/v5", 2, 60, MODS + "/github.com/go-chi/chi/v5@v5.2.1",
     ["github.com/go-chi/chi/v5.(*Mux).ServeHTTP", "github.com/go-chi/chi/v5.(*Mux).routeHTTP"]),
    ("github.com/go-chi/chi/v5/middleware", 2, 50, MODS + "/github.com/go-chi/chi/v5@v5.2.1", []),
    ("go.opentelemetry.io/otel/sdk/trace", 2, 90, MODS + "/go.opentelemetry.io/otel/sdk@v1.35.0", []),
    ("golang.org/x/net/http2", 2, 160, MODS + "/golang.org/x/net@v0.38.0", []),
    # application
    (APP + "/cmd/server", 3, 30, APPSRC, []),
    (APP + "/internal/api", 3, 180, APPSRC, []),
    (APP + "/internal/cart", 3, 120, APPSRC, []),
    (APP + "/internal/pricing", 3, 140, APPSRC, []),
    (APP + "/internal/inventory", 3, 110, APPSRC, []),
    (APP + "/internal/auth", 3, 90, APPSRC, []),
    (APP + "/internal/search", 3, 150, APPSRC, []),
    (APP + "/internal/render", 3, 100, APPSRC, []),
    (APP + "/internal/store", 3, 130, APPSRC, []),
    (APP + "/internal/events", 3, 80, APPSRC, []),
    (APP + "/pkg/middleware", 3, 60, APPSRC, []),
    (APP + "/pkg/cache", 3, 70, APPSRC, []),
    (APP + "/pkg/tree", 3, 40, APPSRC, []),
    # libraries
    ("database/sql", 4, 110, GOROOT, ["database/sql.(*DB).QueryContext", "database/sql.(*DB).conn",
                                      "database/sql.(*Rows).Next", "database/sql.(*Rows).Scan",
                                      "database/sql.convertAssignRows", "database/sql.(*Tx).ExecContext"]),
    ("github.com/jackc/pgx/v5/pgconn", 4, 120, MODS + "/github.com/jackc/pgx/v5@v5.7.4", []),
    ("github.com/jackc/pgx/v5/pgproto3", 4, 90, MODS + "/github.com/jackc/pgx/v5@v5.7.4", []),
    ("github.com/jackc/pgx/v5/stdlib", 4, 50, MODS + "/github.com/jackc/pgx/v5@v5.7.4", []),
    ("github.com/redis/go-redis/v9", 4, 110, MODS + "/github.com/redis/go-redis/v9@v9.7.3", []),
    ("encoding/json", 4, 140, GOROOT, ["encoding/json.Marshal", "encoding/json.Unmarshal",
                                       "encoding/json.(*decodeState).object", "encoding/json.(*decodeState).value",
                                       "encoding/json.(*decodeState).array", "encoding/json.(*encodeState).marshal",
                                       "encoding/json.structEncoder.encode", "encoding/json.mapEncoder.encode",
                                       "encoding/json.(*scanner).step"]),
    ("google.golang.org/protobuf/internal/impl", 4, 150, MODS + "/google.golang.org/protobuf@v1.36.6", []),
    ("google.golang.org/protobuf/proto", 4, 60, MODS + "/google.golang.org/protobuf@v1.36.6", []),
    ("crypto/tls", 4, 160, GOROOT, ["crypto/tls.(*Conn).Read", "crypto/tls.(*Conn).Write",
                                    "crypto/tls.(*Conn).readRecordOrCCS", "crypto/tls.(*Conn).writeRecordLocked",
                                    "crypto/tls.(*Conn).serverHandshake", "crypto/tls.(*halfConn).decrypt",
                                    "crypto/tls.(*halfConn).encrypt", "crypto/tls.(*serverHandshakeStateTLS13).handshake"]),
    ("compress/flate", 4, 70, GOROOT, ["compress/flate.(*compressor).deflate",
                                       "compress/flate.(*decompressor).huffmanBlock"]),
    ("compress/gzip", 4, 30, GOROOT, []),
    ("fmt", 4, 60, GOROOT, ["fmt.Sprintf", "fmt.Fprintf", "fmt.(*pp).doPrintf", "fmt.(*pp).printArg"]),
    ("regexp", 4, 70, GOROOT, ["regexp.(*Regexp).doExecute", "regexp.(*Regexp).backtrack",
                               "regexp.(*machine).step", "regexp.(*machine).add"]),
    ("html/template", 4, 80, GOROOT, []),
    ("text/template", 4, 90, GOROOT, ["text/template.(*state).walk", "text/template.(*state).evalPipeline",
                                      "text/template.(*state).evalCommand", "text/template.(*state).walkRange"]),
    ("go.uber.org/zap", 4, 70, MODS + "/go.uber.org/zap@v1.27.0", []),
    ("go.uber.org/zap/zapcore", 4, 90, MODS + "/go.uber.org/zap@v1.27.0", []),
    ("github.com/prometheus/client_golang/prometheus", 4, 100,
     MODS + "/github.com/prometheus/client_golang@v1.21.1", []),
    ("log/slog", 4, 60, GOROOT, []),
    # low level stdlib
    ("math/big", 5, 130, GOROOT, ["math/big.nat.montgomery", "math/big.addMulVVW", "math/big.mulAddVWW",
                                  "math/big.nat.expNN", "math/big.nat.divLarge", "math/big.(*Int).Exp"]),
    ("crypto/internal/fips140/aes/gcm", 5, 40, GOROOT, []),
    ("crypto/internal/fips140/sha256", 5, 25, GOROOT, []),
    ("crypto/internal/fips140/nistec", 5, 70, GOROOT, []),
    ("crypto/internal/fips140/bigmod", 5, 40, GOROOT, []),
    ("crypto/ecdsa", 5, 40, GOROOT, []),
    ("crypto/rsa", 5, 40, GOROOT, []),
    ("net", 5, 160, GOROOT, ["net.(*conn).Read", "net.(*conn).Write", "net.(*netFD).Read", "net.(*netFD).Write"]),
    ("internal/poll", 5, 50, GOROOT, ["internal/poll.(*FD).Read", "internal/poll.(*FD).Write",
                                      "internal/poll.(*pollDesc).waitRead", "internal/poll.ignoringEINTRIO"]),
    ("syscall", 5, 70, GOROOT, ["syscall.Syscall", "syscall.read", "syscall.write", "syscall.RawSyscall6"]),
    ("bufio", 5, 40, GOROOT, ["bufio.(*Reader).Read", "bufio.(*Writer).Flush", "bufio.(*Reader).fill"]),
    ("bytes", 5, 60, GOROOT, ["bytes.(*Buffer).Write", "bytes.(*Buffer).grow", "bytes.IndexByte"]),
    ("strings", 5, 60, GOROOT, ["strings.(*Builder).WriteString", "strings.Index", "strings.genSplit"]),
    ("strconv", 5, 50, GOROOT, ["strconv.ParseInt", "strconv.AppendInt", "strconv.formatBits",
                                "strconv.appendQuotedWith"]),
    ("reflect", 5, 120, GOROOT, ["reflect.Value.Field", "reflect.Value.Interface", "reflect.unsafe_New",
                                 "reflect.(*rtype).Kind", "reflect.Value.Set"]),
    ("sort", 5, 30, GOROOT, ["sort.Sort", "sort.pdqsort", "sort.insertionSort"]),
    ("slices", 5, 40, GOROOT, []),
    ("sync", 5, 50, GOROOT, ["sync.(*Mutex).Lock", "sync.(*Mutex).lockSlow", "sync.(*Pool).Get",
                             "sync.(*Pool).Put", "sync.(*RWMutex).RLock", "sync.(*WaitGroup).Wait"]),
    ("context", 5, 40, GOROOT, []),
    ("io", 5, 40, GOROOT, ["io.ReadAtLeast", "io.ReadFull", "io.copyBuffer"]),
    ("os", 5, 60, GOROOT, []),
    ("time", 5, 70, GOROOT, ["time.Now", "time.Time.Format", "time.Time.AppendFormat"]),
    ("unicode/utf8", 5, 20, GOROOT, []),
    ("hash/crc32", 5, 20, GOROOT, []),
    ("encoding/binary", 5, 30, GOROOT, []),
    ("vendor/golang.org/x/net/http2/hpack", 5, 40, GOROOT, []),
    ("net/textproto", 5, 40, GOROOT, []),
    ("net/url", 5, 30, GOROOT, []),
    ("internal/bytealg", 5, 20, GOROOT, ["internal/bytealg.IndexByteString", "internal/bytealg.Compare"]),
    # runtime
    ("runtime", 6, 420, GOROOT, ["runtime.mallocgc", "runtime.memmove", "runtime.memclrNoHeapPointers",
                                 "runtime.scanobject", "runtime.greyobject", "runtime.findObject",
                                 "runtime.gcDrain", "runtime.gcBgMarkWorker", "runtime.mcall", "runtime.park_m",
                                 "runtime.schedule", "runtime.findRunnable", "runtime.netpoll", "runtime.futex",
                                 "runtime.futexsleep", "runtime.notesleep", "runtime.stopm", "runtime.newobject",
                                 "runtime.makeslice", "runtime.growslice", "runtime.mapaccess2_faststr",
                                 "runtime.mapassign_faststr", "runtime.(*mcache).nextFree",
                                 "runtime.(*mcache).refill", "runtime.(*mcentral).cacheSpan",
                                 "runtime.(*mheap).alloc", "runtime.(*mspan).nextFreeIndex",
                                 "runtime.selectgo", "runtime.chansend", "runtime.chanrecv", "runtime.lock2",
                                 "runtime.unlock2", "runtime.procyield", "runtime.osyield", "runtime.usleep",
                                 "runtime.nanotime1", "runtime.systemstack", "runtime.morestack",
                                 "runtime.newstack", "runtime.copystack", "runtime.wbBufFlush1",
                                 "runtime.bgsweep", "runtime.sweepone", "runtime.(*mspan).sweep",
                                 "runtime.concatstrings", "runtime.slicebytetostring", "runtime.efaceeq",
                                 "runtime.typehash", "runtime.memhash", "runtime.aeshashbody", "runtime.ready",
                                 "runtime.goready", "runtime.casgstatus", "runtime.runqgrab",
                                 "runtime.stealWork", "runtime.pMask.read", "runtime.(*gcWork).tryGet",
                                 "runtime.markroot", "runtime.scanstack", "runtime.scanframeworker"]),
    ("internal/runtime/syscall", 6, 10, GOROOT, ["internal/runtime/syscall.Syscall6"]),
    ("internal/runtime/atomic", 6, 20, GOROOT, ["internal/runtime/atomic.(*Uint32).Load",
                                                "internal/runtime/atomic.(*Int64).Add"]),
    ("internal/runtime/maps", 6, 40, GOROOT, ["internal/runtime/maps.(*Map).getWithKeySmall",
                                              "internal/runtime/maps.(*table).getWithKey"]),
]

# entry points (layer 1): their first frame under runtime.goexit
ENTRY = [
    ("net/http.(*conn).serve", 40), ("net/http.(*persistConn).readLoop", 6),
    ("net/http.(*persistConn).writeLoop", 3),
    ("google.golang.org/grpc.(*Server).serveStreams.func2.1", 14),
    ("google.golang.org/grpc/internal/transport.(*loopyWriter).run", 3),
    ("runtime.gcBgMarkWorker", 10), ("runtime.bgsweep", 2), ("runtime.mcall", 6),
    (APP + "/internal/events.(*Consumer).run", 6), (APP + "/internal/search.(*Indexer).loop", 5),
    (APP + "/pkg/cache.(*Cache).janitor", 2), ("database/sql.(*DB).connectionOpener", 1),
    (APP + "/cmd/server.main", 2),
]

VERBS = ["read", "write", "handle", "serve", "parse", "decode", "encode", "process", "load", "store",
         "find", "update", "compute", "validate", "build", "flush", "fill", "scan", "next", "lookup",
         "marshal", "unmarshal", "exec", "query", "apply", "check", "init", "reset", "grow", "copy",
         "append", "match", "compile", "sign", "verify", "hash", "compress", "expand", "resolve",
         "dispatch", "collect", "merge", "split", "format", "render", "emit", "record", "evict",
         "fetch", "prepare", "commit", "rollback", "walk", "visit", "insert", "remove", "sort", "reduce"]
NOUNS = ["Header", "Body", "Frame", "Record", "Buffer", "Value", "Field", "Key", "Row", "Token",
         "Block", "Chunk", "Item", "Entry", "Node", "Span", "Batch", "State", "Request", "Response",
         "Message", "Column", "Index", "Page", "Price", "Order", "Cart", "User", "Session", "Event",
         "Metric", "Label", "Path", "Route", "Query", "Result", "Schema", "Stream", "Window", "Tree"]
TYPES = ["conn", "Server", "Client", "Reader", "Writer", "decoder", "encoder", "state", "Handler",
         "Pool", "Cache", "Store", "Service", "Repo", "Tx", "Rows", "Stmt", "Config", "Builder",
         "parser", "scanner", "machine", "table", "bucket", "worker", "Queue", "Index", "Engine",
         "Resolver", "Registry", "Tracer", "Logger", "Limiter", "Router", "Node", "Tree", "Iterator"]

RT_VERBS = ["alloc", "free", "sweep", "scan", "mark", "park", "ready", "steal", "grow", "copy", "lock",
            "unlock", "wake", "poll", "spin", "flush", "drain", "trace", "assist", "reclaim", "wait",
            "signal", "put", "get", "init", "check", "add", "find", "release", "acquire"]
RT_NOUNS = ["Span", "Obj", "Stack", "Frame", "Heap", "Chunk", "Bits", "Work", "Buf", "Proc", "M", "G",
            "P", "Timer", "Sema", "Page", "Arena", "Cache", "Bucket", "Root", "Sweep", "Credit", "Summary"]

RT_TYPES = ["mheap", "mspan", "mcache", "mcentral", "gcWork", "pageAlloc", "timers", "sweepLocker",
            "p", "m", "g", "stackScanState", "gcControllerState", "spanSet", "lfstack", "pollDesc"]


def make_functions(rng: np.random.Generator):
    """Names, packages, layers and files of all functions."""
    names: list[str] = []
    layers: list[int] = []
    files: list[str] = []
    pkg_of: list[int] = []
    seen: set[str] = set()

    def add(name: str, layer: int, file: str, pi: int):
        if name in seen:
            return
        seen.add(name)
        names.append(name)
        layers.append(layer)
        files.append(file)
        pkg_of.append(pi)

    add("runtime.goexit", 0, GOROOT + "/runtime/asm_amd64.s", len(PACKAGES) - 4)
    entry_layer = {n for n, _ in ENTRY}
    for pi, (pkg, layer, count, root, known) in enumerate(PACKAGES):
        base = pkg.rsplit("/", 1)[-1]
        if root == GOROOT:
            dirpath = f"{GOROOT}/{pkg}"
        elif root == APPSRC:
            dirpath = f"{APPSRC}/{pkg[len(APP) + 1:]}"
        else:
            mod_path = root.split("/pkg/mod/", 1)[1]
            mod = mod_path.split("@", 1)[0]
            sub = pkg[len(mod):].lstrip("/")
            dirpath = root + ("/" + sub if sub else "")
        nfiles = max(2, count // 15)
        fnames = [f"{dirpath}/{base}.go"] + [
            f"{dirpath}/{rng.choice(VERBS)}{'_' + str(rng.choice(NOUNS)).lower()}.go" for _ in range(nfiles - 1)]
        if pkg == "runtime":
            fnames += [f"{GOROOT}/runtime/{f}" for f in ("malloc.go", "mgcmark.go", "proc.go", "mbitmap.go",
                                                         "memmove_amd64.s", "lock_futex.go", "os_linux.go")]
        ptypes = [str(t) for t in rng.choice(RT_TYPES if layer == 6 else TYPES, size=min(12, max(3, count // 12)), replace=False)]
        for n in known:
            add(n, 1 if n in entry_layer else layer, str(rng.choice(fnames)), pi)
        for n in [e for e in entry_layer if e.startswith(pkg + ".")]:
            add(n, 1, str(rng.choice(fnames)), pi)
        verbs, nouns = (RT_VERBS, RT_NOUNS) if layer == 6 else (VERBS, NOUNS)
        tries = 0
        while sum(1 for p in pkg_of if p == pi) < count and tries < count * 20:
            tries += 1
            verb, noun = str(rng.choice(verbs)), str(rng.choice(nouns))
            r = rng.random()
            t = str(rng.choice(ptypes))
            if r < 0.30:
                fn = f"{verb.capitalize()}{noun}"
            elif r < 0.45:
                fn = f"{verb}{noun}"
            elif r < 0.75:
                fn = f"(*{t}).{verb.capitalize() if t[0].isupper() else verb}{noun}"
            elif r < 0.85:
                fn = f"{t}.{verb}{noun}"
            elif r < 0.95:
                fn = f"(*{t}).{verb}{noun}.func{int(rng.integers(1, 4))}"
            else:
                fn = f"{verb.capitalize()}{noun}[...]"      # generic instantiation
            add(f"{pkg}.{fn}", layer, str(rng.choice(fnames)), pi)
    return (np.array(names, object), np.array(layers, np.int8), np.array(files, object),
            np.array(pkg_of, np.int32))


def make_callees(rng, names, layers, pkg_of, k=8):
    """k callee slots per function (repeats = preference)."""
    n = len(names)
    by_layer = [np.nonzero(layers == L)[0] for L in range(7)]
    same = {}
    for f in range(n):
        same.setdefault((int(pkg_of[f]), int(layers[f])), []).append(f)
    same = {key: np.array(v, np.int32) for key, v in same.items()}
    hot_rt = np.array([i for i, s in enumerate(names) if s in (
        "runtime.mallocgc", "runtime.memmove", "runtime.newobject", "runtime.growslice",
        "runtime.mapaccess2_faststr", "runtime.makeslice", "runtime.concatstrings", "runtime.morestack",
        "runtime.selectgo", "runtime.lock2", "runtime.memhash", "runtime.memclrNoHeapPointers")])
    callees = np.zeros((n, k), np.int32)
    # probability of staying in the same layer: deep stacks come from middleware
    # chains, application code, libraries calling themselves and the runtime
    stay = {0: 0.0, 1: 0.0, 2: 0.85, 3: 0.92, 4: 0.9, 5: 0.8, 6: 1.0}
    for f in range(n):
        L = int(layers[f])
        for j in range(k):
            r = rng.random()
            if L == 0:
                pass
            elif r < 0.03 and L < 6:
                callees[f, j] = rng.choice(hot_rt)
                continue
            elif r < 0.03 + stay[L] * 0.97:
                tl = L
            else:
                tl = min(6, L + 1 + int(rng.random() < 0.25))
            if L == 0:
                continue   # runtime.goexit's children are the entry points (below)
            if L == 1:   # an entry point calls into its own package first
                inner = [same[(int(pkg_of[f]), x)] for x in (2, 3, 4, 5, 6) if (int(pkg_of[f]), x) in same]
                pool = inner[0] if inner else by_layer[2]
            elif tl == L and rng.random() < 0.6:
                pool = same[(int(pkg_of[f]), L)]        # same package
            else:
                pool = by_layer[tl]
            callees[f, j] = rng.choice(pool)
    # some recursion: self calls (tree walkers, json decode, template walk, regexp backtracking)
    rec = rng.random(n) < 0.04
    for s in ("encoding/json.(*decodeState).value", "text/template.(*state).walk",
              "regexp.(*Regexp).backtrack", "math/big.nat.divLarge"):
        rec |= names == s
    rec &= layers >= 2
    callees[rec, 0] = np.nonzero(rec)[0]
    # mutual recursion json: value -> object/array -> value
    idx = {s: i for i, s in enumerate(names)}
    v, o, a = (idx["encoding/json.(*decodeState).value"], idx["encoding/json.(*decodeState).object"],
               idx["encoding/json.(*decodeState).array"])
    callees[v, 1], callees[v, 2], callees[o, 0], callees[a, 0] = o, a, v, v
    return callees

# how likely a frame of each layer is to call further, relative to the others
LEAFINESS = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.4, 0.12])


def build_tree(rng, callees, layers, root_fn, entry_fns, entry_w, max_depth, cap):
    """Random call tree, level by level. Returns parent, fn, depth (0 = root) per node."""
    parents = [np.array([-1], np.int64)]
    fns = [np.array([root_fn], np.int32)]
    level_start = [0]
    total = 1
    width = 1.0
    k = callees.shape[1]
    for d in range(1, max_depth):
        if d <= 22:
            width = min(cap, max(width * 1.55, 24))
        elif d > 48:
            width *= 0.935
        w = max(1, int(width))
        prev_n = len(fns[-1])
        prev_start = level_start[-1]
        # parent popularity is skewed: many nodes get no children (they are leaves)
        # low-level and runtime frames rarely call further: they are the tips
        pop = rng.lognormal(0.0, 1.3, prev_n) * LEAFINESS[layers[fns[-1]]]
        pop /= pop.sum()
        par_local = rng.choice(prev_n, size=w, p=pop)
        par_fn = fns[-1][par_local]
        if d == 1:
            fn = rng.choice(entry_fns, size=w, p=entry_w / entry_w.sum()).astype(np.int32)
        else:
            fn = callees[par_fn, rng.integers(0, k, w)]
        parents.append(prev_start + par_local)
        fns.append(fn)
        level_start.append(total)
        total += w
    parent = np.concatenate(parents)
    fn = np.concatenate(fns)
    depth = np.concatenate([np.full(len(f), d, np.int16) for d, f in enumerate(fns)])
    return parent, fn, depth


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="Sample messages (default 1,000,000)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output (default {DEFAULT_OUT.relative_to(ROOT)})")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--duration", type=float, default=60.0, help="profile duration in seconds (default 60)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    # ---- functions, call graph, locations ------------------------------------
    names, layers, files, pkg_of = make_functions(rng)
    nfn = len(names)
    callees = make_callees(rng, names, layers, pkg_of)
    idx = {s: i for i, s in enumerate(names)}
    entry_fns = np.array([idx[n] for n, _ in ENTRY], np.int32)
    entry_w = np.array([w for _, w in ENTRY], float)

    # each function has a few PCs (locations); larger in application/library code
    nloc_fn = np.clip(rng.poisson(np.where(layers == 6, 6, 10)), 2, 40).astype(np.int64)
    loc_start = np.concatenate(([0], np.cumsum(nloc_fn)))
    nloc = int(loc_start[-1])
    loc_fn = np.repeat(np.arange(nfn), nloc_fn)
    fn_start_line = rng.integers(20, 1800, nfn)
    fn_addr = 0x401000 + np.concatenate(([0], np.cumsum(rng.integers(0x80, 0x1200, nfn))))[:-1]
    loc_addr = (fn_addr[loc_fn] + np.sort(rng.integers(4, 0x7f, nloc)) +
                (np.arange(nloc) - loc_start[loc_fn]) * 0x20).astype(np.uint64)
    loc_line = fn_start_line[loc_fn] + np.sort(rng.integers(1, 120, nloc))
    # ~15% of locations carry an inlined call: line[0] is the inlined callee
    small = np.nonzero(np.isin(layers, (5, 6)))[0]
    inl = (rng.random(nloc) < 0.15) & (layers[loc_fn] >= 2)
    inl_fn = np.where(inl, rng.choice(small, nloc), -1)
    inl_line = fn_start_line[np.maximum(inl_fn, 0)] + rng.integers(1, 15, nloc)

    # ---- call tree and samples -----------------------------------------------
    parent, node_fn, depth = build_tree(rng, callees, layers, idx["runtime.goexit"], entry_fns, entry_w,
                                        MAX_DEPTH, cap=9000)
    nnodes = len(parent)
    has_child = np.zeros(nnodes, bool)
    has_child[parent[parent >= 0]] = True
    cand = np.nonzero(depth + 1 >= MIN_DEPTH)[0]
    # Zipf-like weights over candidate stacks (random ranks), leaves favoured
    rank = rng.permutation(len(cand)) + 1
    w = 1.0 / rank ** 1.0 * np.where(has_child[cand], 1.0, 4.0)
    draws = rng.choice(cand, size=args.samples, p=w / w.sum())
    uniq, sample_u = np.unique(draws, return_inverse=True)
    # leaf-first location paths of the unique nodes
    U = len(uniq)
    ulen = depth[uniq].astype(np.int64) + 1
    mat = np.zeros((U, MAX_DEPTH), np.int64)
    cur = uniq.copy()
    for j in range(MAX_DEPTH):
        ok = cur >= 0
        mat[:, j] = np.where(ok, cur, 0)
        cur = np.where(ok, parent[np.where(ok, cur, 0)], -1)
    frame_fn = node_fn[mat].astype(np.int64)
    # a caller frame's PC depends on which callee it calls; a leaf's on the node
    callee_fn = np.empty_like(frame_fn)
    callee_fn[:, 1:] = frame_fn[:, :-1]
    callee_fn[:, 0] = mat[:, 0] * 7 + 3
    h = (callee_fn * 2654435761 + frame_fn * 40503) % (1 << 31)
    frame_loc = loc_start[frame_fn] + h % nloc_fn[frame_fn]
    loc_ids = frame_loc + 1                       # location ids are 1..nloc
    stack_lists = [loc_ids[i, :ulen[i]].tolist() for i in range(U)]
    distinct = len({tuple(s) for s in stack_lists})
    counts = rng.geometric(0.75, args.samples)    # mostly 1, sometimes more
    t_gen = time.perf_counter() - t0

    # ---- the message ------------------------------------------------------------
    strings: dict[str, int] = {"": 0}

    def S(s: str) -> int:
        i = strings.get(s)
        if i is None:
            i = strings[s] = len(strings)
        return i

    m = profile_pb2.Profile()
    for t, u in (("samples", "count"), ("cpu", "nanoseconds")):
        m.sample_type.add(type=S(t), unit=S(u))
    m.period_type.type = S("cpu")
    m.period_type.unit = S("nanoseconds")
    m.period = PERIOD_NS
    m.duration_nanos = int(args.duration * 1e9)
    m.time_nanos = 1_735_689_600_000_000_000 + int(rng.integers(0, 10**9))
    mp = m.mapping.add(id=1, memory_start=0x400000, memory_limit=int(loc_addr.max()) + 0x10000,
                       file_offset=0, filename=S("/usr/local/bin/shop-server"),
                       build_id=S("".join(f"{x:02x}" for x in rng.integers(0, 256, 20))))
    mp.has_functions = mp.has_filenames = mp.has_line_numbers = mp.has_inline_frames = True
    for f in range(nfn):
        m.function.add(id=f + 1, name=S(names[f]), system_name=S(names[f]), filename=S(files[f]),
                       start_line=int(fn_start_line[f]))
    loc_fn_l, loc_addr_l, loc_line_l = loc_fn.tolist(), loc_addr.tolist(), loc_line.tolist()
    inl_fn_l, inl_line_l = inl_fn.tolist(), inl_line.tolist()
    for i in range(nloc):
        loc = m.location.add(id=i + 1, mapping_id=1, address=loc_addr_l[i])
        if inl_fn_l[i] >= 0:
            loc.line.add(function_id=inl_fn_l[i] + 1, line=inl_line_l[i])
        loc.line.add(function_id=loc_fn_l[i] + 1, line=loc_line_l[i])
    samples = m.sample
    su = sample_u.tolist()
    cl = counts.tolist()
    for i in range(args.samples):
        s = samples.add()
        s.location_id.extend(stack_lists[su[i]])
        c = cl[i]
        s.value.extend((c, c * PERIOD_NS))
    m.string_table.extend(strings)       # dict keeps insertion order = index order
    raw = m.SerializeToString()
    del m
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # runtime/pprof compresses with gzip.BestSpeed
    data = gzip.compress(raw, compresslevel=1, mtime=0)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)

    depths = ulen[sample_u]
    total_frames = int(depths.sum())
    print(f"wrote {args.out}")
    print(f"  uncompressed: {len(raw):,} bytes ({len(raw) / 1e6:.1f} MB), gzip: {len(data):,} bytes "
          f"({len(data) / 1e6:.1f} MB)")
    print(f"  samples: {args.samples:,} (sum of samples/count {int(counts.sum()):,}), "
          f"distinct stacks: {distinct:,}, frames: {total_frames:,}")
    print(f"  depth: min {int(depths.min())}, median {int(np.median(depths))}, max {int(depths.max())}; "
          f"functions: {nfn:,}, locations: {nloc:,} ({int(inl.sum()):,} with an inlined frame), "
          f"tree nodes: {nnodes:,}")
    print(f"  time: {time.perf_counter() - t0:.1f}s (tree and stacks {t_gen:.1f}s)")
    if args.samples == DEFAULT_SAMPLES:
        assert len(raw) >= MIN_UNCOMPRESSED, f"uncompressed size {len(raw):,} < {MIN_UNCOMPRESSED:,}"
        assert args.samples >= 1_000_000
    return 0


if __name__ == "__main__":
    sys.exit(main())
