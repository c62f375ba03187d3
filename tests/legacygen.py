"""Write legacy profiles (gperftools binary CPU, C++ heapz/growthz/contentionz/threadz, Java) for the
oracle tests, following the formats as google/pprof's legacy parsers document them.

Every file is made from a seeded random call tree, so the tests are reproducible and nothing binary
is committed. Mapping files name paths that do not exist, so `go tool pprof` cannot symbolize them.
"""
from __future__ import annotations

import random
from pathlib import Path

MAIN = "/opt/perfkit-fake/bin/server"
LIBC = "/opt/perfkit-fake/lib/libc.so.6"
MAIN_START, MAIN_END = 0x400000, 0x452000
LIB64 = 0x7F0000000000
LIB32 = 0xB7000000                     # where a 32-bit process maps its libraries
STRAY = 0x900000                       # outside every mapping: pprof gives it a fake one


def _functions(rng: random.Random, lib: int, n: int = 24) -> list[int]:
    """Code addresses: most in the main binary, some in libc, a few nowhere."""
    out = []
    for i in range(n):
        if i % 6 == 5:
            out.append(lib + 0x1000 + rng.randrange(0, 0xF0000, 16))
        elif i % 11 == 10:
            out.append(STRAY + rng.randrange(0, 0x1000, 16))
        else:
            out.append(MAIN_START + 0x1000 + rng.randrange(0, 0x50000, 16))
    return out


def stacks(seed: int, n: int = 40, depth: tuple[int, int] = (2, 9), lib: int = LIB64) -> list[list[int]]:
    """Leaf-first return addresses; callers repeat so that cum differs from flat."""
    rng = random.Random(seed)
    fns = _functions(rng, lib)
    out = []
    for _ in range(n):
        d = rng.randint(*depth)
        root = [fns[0], fns[1]] if rng.random() < 0.8 else [fns[2]]
        mid = [rng.choice(fns[3:]) + rng.randrange(0, 64, 4) for _ in range(d - len(root))]
        out.append(list(reversed(root + mid)))
    return out


def proc_maps(brief: bool = False, build_ids: bool = False, lib: int = LIB64) -> str:
    LIB_START, LIB_END = lib, lib + 0x100000
    if brief:
        bid = " abcdef0123456789" if build_ids else ""
        return (f"0x{MAIN_START:x}-0x{MAIN_END:x} {MAIN} (@0){bid}\n"
                f"0x{LIB_START:x}-0x{LIB_END:x} {LIBC} (@0){' 1122334455667788' if build_ids else ''}\n")
    return (f"{MAIN_START:08x}-{MAIN_END:08x} r-xp 00000000 08:01 1234       {MAIN}\n"
            f"{MAIN_END + 0x1ff000:08x}-{MAIN_END + 0x200000:08x} rw-p 00051000 08:01 1234       {MAIN}\n"
            f"{LIB_START:x}-{LIB_END:x} r-xp 00000000 08:01 5678       {LIBC}\n"
            f"{LIB_END:x}-{LIB_END + 0x1000:x} rw-p 00100000 08:01 5678       {LIBC}\n")


# ---- binary CPU --------------------------------------------------------------------
def cpu_profile(seed: int, word: int = 8, order: str = "little", period_us: int = 10000, maps: str | None = "proc",
                handler_frame: bool = False, dup_leaf: bool = False, java: bool = False,
                java_symbols: str = "") -> bytes:
    rng = random.Random(seed)
    words = [0, 3, 1 if java else 0, period_us, 0]
    handler = MAIN_START + 0x44440
    lib = LIB32 if word == 4 else LIB64
    for st in stacks(seed + 1000, lib=lib):
        st = list(st)
        if java:
            st = [(a & 0xFFFF) | 0x100000 for a in st]
        if handler_frame:
            st.insert(1, handler)
        if dup_leaf:
            st.insert(1, st[0] + 1)      # unwinding saw the leaf again: minus one it equals the leaf
        words += [rng.randint(1, 50), len(st), *st]
    words += [0, 1, 0]
    body = b"".join(w.to_bytes(word, order) for w in words)
    if java:
        return body + java_symbols.encode()
    if maps == "proc":
        body += proc_maps(lib=lib).encode()
    elif maps == "brief":
        body += proc_maps(brief=True, build_ids=True, lib=lib).encode()
    return body


# ---- C++ text profiles ---------------------------------------------------------------
def _addr_list(st: list[int]) -> str:
    return " ".join(f"0x{a:x}" for a in st)


def heap_profile(seed: int, header: str = "heap_v2/524288", with_alloc: bool = True, maps: str | None = None) -> str:
    rng = random.Random(seed)
    rows = []
    tot = [0, 0, 0, 0]
    for st in stacks(seed + 2000):
        size = rng.choice([16, 64, 256, 4096, 65536, 1 << 20])
        inuse = rng.randint(0, 20)
        alloc = inuse + (rng.randint(0, 30) if with_alloc else 0)
        vals = (inuse, inuse * size, alloc, alloc * size)
        tot = [a + b for a, b in zip(tot, vals)]
        rows.append(f"{vals[0]:6d}: {vals[1]:8d} [{vals[2]:6d}: {vals[3]:8d}] @ {_addr_list(st)}")
    head = f"heap profile: {tot[0]:6d}: {tot[1]:8d} [{tot[2]:6d}: {tot[3]:8d}] @ {header}"
    text = head + "\n" + "\n".join(rows) + "\n"
    if maps:
        text += f"\n{maps}\n" + proc_maps()
    return text


def contention_profile(seed: int, cycles_per_second: int | None = 2_400_000_000, period: int | None = 100,
                       ms_since_reset: int | None = 5000, maps: bool = True) -> str:
    rng = random.Random(seed)
    lines = ["--- contentionz 1 ---"]
    if cycles_per_second is not None:
        lines.append(f"cycles/second = {cycles_per_second}")
    if period is not None:
        lines.append(f"sampling period = {period}")
    if ms_since_reset is not None:
        lines.append(f"ms since reset = {ms_since_reset}")
    lines.append("discarded samples = 0")
    for st in stacks(seed + 3000):
        lines.append(f"{rng.randint(1000, 10**9)} {rng.randint(1, 500)} @ {_addr_list(st)}")
    if maps:
        lines += ["--- Memory map: ---", *proc_maps().splitlines()]
    return "\n".join(lines) + "\n"


def thread_profile(seed: int, threadz_header: bool = True, maps: bool = True) -> str:
    rng = random.Random(seed)
    lines = ["--- threadz 1 ---", "# a comment the parser skips", ""] if threadz_header else []
    for i, st in enumerate(stacks(seed + 4000, n=25)):
        lines.append(f"--- Thread {0x7f00 + i:x} (name: worker-{i % 3}/{1000 + i}) stack: ---")
        if i and rng.random() < 0.25:
            lines.append("  same as previous thread")
            continue
        half = len(st) // 2
        lines.append("  PC: " + _addr_list(st[:half]))
        lines.append("      " + _addr_list(st[half:]))
    if maps:
        lines += ["--- Memory map: ---", *proc_maps(brief=True, build_ids=True).splitlines()]
    else:
        lines.append("---- no stack trace for thread 99999")
    return "\n".join(lines) + "\n"


# ---- Java text -----------------------------------------------------------------------
JAVA_FUNCS = ["java.util.HashMap.resize (HashMap.java:704)", "java.util.ArrayList.grow (ArrayList.java:265)",
              "com.example.Server.handle (Server.java:88)", "com.example.Server.run (Server.java:41)",
              "java.lang.Thread.run (Thread.java:748)", "sun.misc.Unsafe.park (Native Method)",
              "com.example.Cache.get (/src/com/example/Cache.java)", "<generated stub/JIT code>",
              "com.example.Worker.loop (Worker.java:-1)", "com.example.Codec.decode"]


def java_stacks(seed: int, n: int = 30) -> list[list[int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        d = rng.randint(2, 6)
        out.append([0x1000 + 0x10 * rng.randrange(len(JAVA_FUNCS) + 2) for _ in range(d)] + [0x1000 + 0x40])
    return out


def java_symbol_lines(stk: list[list[int]]) -> str:
    addrs = sorted({a for st in stk for a in st})
    out = []
    for a in addrs:
        i = (a - 0x1000) // 0x10
        if i < len(JAVA_FUNCS):                    # the last ids stay unnamed
            out.append(f"0x{a:08x} {JAVA_FUNCS[i]}")
    return "\n".join(out) + "\n"


def java_profile(seed: int, kind: str = "heap", resolution: str = "bytes", period: int | None = 100) -> str:
    rng = random.Random(seed)
    stk = java_stacks(seed + 5000)
    lines = [f"--- {kind}z 1 ---", "format = java", f"resolution = {resolution}"]
    if kind == "contention":
        if period is not None:
            lines.append(f"sampling period = {period}")
        lines.append("ms since reset = 60000")
    for st in stk:
        count = rng.randint(1, 40)
        value = count * rng.choice([24, 512, 8192, 1 << 20]) if kind == "heap" else rng.randint(1, 10**6)
        lines.append(f" {value} {count} @ {_addr_list(st)}")
    return "\n".join(lines) + "\n" + java_symbol_lines(stk)


def java_cpu_profile(seed: int, word: int = 8, order: str = "little") -> bytes:
    rng = random.Random(seed)
    stk = java_stacks(seed + 6000)
    words = [0, 3, 1, 10000, 0]
    for st in stk:
        words += [rng.randint(1, 30), len(st), *st]
    words += [0, 1, 0]
    return b"".join(w.to_bytes(word, order) for w in words) + java_symbol_lines(stk).encode()


def write_all(out: Path) -> dict[str, Path]:
    """Every variant, by name."""
    files: dict[str, bytes | str] = {
        "cpu-64le-procmaps": cpu_profile(1, 8, "little"),
        "cpu-64be-nomaps": cpu_profile(2, 8, "big", maps=None),
        "cpu-32le-briefmaps": cpu_profile(3, 4, "little", period_us=1000, maps="brief"),
        "cpu-32be-handler": cpu_profile(4, 4, "big", handler_frame=True),
        "cpu-64le-dupleaf": cpu_profile(5, 8, "little", dup_leaf=True, maps="brief"),
        "heap-v2-sampled": heap_profile(10, "heap_v2/524288", maps="MAPPED_LIBRARIES:"),
        "heapz-v2-inuse-only": heap_profile(11, "heapz_v2/262144", with_alloc=False),
        "heap-heapprofile": heap_profile(12, "heapprofile", maps="--- Memory map: ---"),
        "heap-go-style": heap_profile(13, "heap/1048576"),
        "heap-rate-1": heap_profile(14, "heap_v2/1"),
        "growthz": heap_profile(15, "growthz", with_alloc=False, maps="--- Memory map: ---"),
        "fragmentationz": heap_profile(16, "fragmentationz", with_alloc=False),
        "contentionz-full": contention_profile(20),
        "contentionz-no-cpuhz": contention_profile(21, cycles_per_second=None, maps=False),
        "contentionz-no-period": contention_profile(22, period=None, ms_since_reset=None),
        "threadz-with-maps": thread_profile(30),
        "thread-no-header": thread_profile(31, threadz_header=False, maps=False),
        "java-heapz": java_profile(40, "heap"),
        "java-contentionz": java_profile(41, "contention", resolution="nanoseconds"),
        "java-contentionz-noperiod": java_profile(42, "contention", resolution="nanoseconds", period=None),
        "java-cpu-64le": java_cpu_profile(43, 8, "little"),
        "java-cpu-32be": java_cpu_profile(44, 4, "big"),
    }
    paths = {}
    for name, data in files.items():
        p = out / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        paths[name] = p
    return paths
