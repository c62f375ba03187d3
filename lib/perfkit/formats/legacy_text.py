"""Text profiles: Go's `debug=1` pages (heap, allocs, block, mutex, goroutine, threadcreate) and the
C++ heapz, growthz, fragmentationz, contentionz and threadz pages they descend from.

They carry addresses only: each distinct address is one location (pprof moves every caller's return
address back by one byte, onto the call). The `#` lines Go adds under each stack are comments to
pprof and are ignored here too, so function names appear only once a binary symbolizes them, which
perfkit does not do. A Go heap page's `# runtime.MemStats` trailer is kept as the profile's comments:
"runtime.MemStats", then one "Name = value" comment per line (see ``memstats``).
"""
from __future__ import annotations

import math
import re

import pandas as pd

from ..errors import ProfileError
from ..model.profile import Profile
from .legacy_base import (HEX, U64, AddressProfile, LineScanner, NotThisFormat, additional_sections,
                          float_to_i64, go_div, go_int, hex_addresses, is_map_sentinel, space_or_comment, trim, wrap64)

_COUNT_START = re.compile(r"\A([^\t\n\f\r ]+) profile: total [0-9]+\Z")
_COUNT_SAMPLE = re.compile(r"\A([0-9]+) @((?: 0x[0-9a-f]+)+)\Z")
_HEAP_HEADER = re.compile(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] *@ *(heap[_a-z0-9]*)/?"
                          r"([0-9]*)")
_HEAP_SAMPLE = re.compile(r"(-?[0-9]+): *(-?[0-9]+) *\[ *([0-9]+): *([0-9]+) *] @([ x0-9a-f]*)")
_GROWTH_HEADER = re.compile(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @ growthz?")
_FRAG_HEADER = re.compile(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @ fragmentationz?")
_CONTENTION_SAMPLE = re.compile(r"([0-9]+) *([0-9]+) @([ x0-9a-f]*)")
_THREADZ_START = re.compile(r"--- threadz [0-9]+ ---")
_THREAD_START = re.compile(rf"--- Thread ({HEX}+) \(name: (.*)/([0-9]+)\) stack: ---")
MEMSTATS = "runtime.MemStats"


def go_count_profile(text: str, source: str) -> Profile:
    """`goroutine profile: total N` / `threadcreate profile: total N` with `count @ addr...` lines."""
    s = LineScanner(text)
    while s.scan() and space_or_comment(s.text):
        pass
    m = _COUNT_START.match(s.text)
    if not m:
        raise NotThisFormat
    kind = m.group(1)
    p = AddressProfile([(kind, "count")], (kind, "count"), 1)
    what = f"Go {kind} profile (debug=1)"
    while s.scan():
        line = s.text
        if space_or_comment(line):
            continue
        if line.startswith("---"):
            break
        c = _COUNT_SAMPLE.match(line)
        if not c:
            raise ProfileError(source, f"{what}: malformed sample line {line[:80]!r} (want 'COUNT @ 0xADDR ...')")
        try:
            n = go_int(c.group(1))
        except ValueError:
            raise ProfileError(source, f"{what}: count out of range in {line[:80]!r}") from None
        addrs = hex_addresses(c.group(2), source, what)
        p.add([(a - 1) & U64 for a in addrs], [n])
    additional_sections(s, p)
    return p.to_profile(source)


def _heap_header(line: str) -> tuple[str, int, bool]:
    """(sampling, period, has_alloc) of a `heap profile:` header (pprof's parseHeapHeader)."""
    h = _HEAP_HEADER.search(line)
    period = 0
    if h.group(6):
        try:
            period = go_int(h.group(6), base0=False)
        except ValueError:
            raise NotThisFormat from None
    has_alloc = (h.group(3) != h.group(1) and h.group(3) != "0") or (h.group(4) != h.group(2) and h.group(4) != "0")
    kind = h.group(5)
    if kind in ("heapz_v2", "heap_v2"):
        return "v2", period, has_alloc
    if kind == "heapprofile":
        return "", 1, has_alloc
    if kind == "heap":                    # Go writes 2 * MemProfileRate here
        return "v2", period // 2, has_alloc
    raise NotThisFormat


def scale_heap(count: int, size: int, rate: int) -> tuple[int, int]:
    """Undo Poisson sampling at mean `rate` bytes: divide by the chance 1 - exp(-size/rate) of being sampled."""
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    avg = float(size) / float(count)
    try:
        e = math.exp(-avg / float(rate))
    except OverflowError:
        e = math.inf
    scale = 1 / (1 - e) if e != 1 else math.inf       # Go divides by zero into +Inf
    return float_to_i64(float(count) * scale), float_to_i64(float(size) * scale)


def heap_profile(text: str, source: str) -> Profile:
    """Go heap/allocs debug=1 and C++ heapz, growthz and fragmentationz pages."""
    s = LineScanner(text)
    if not s.scan():
        raise NotThisFormat
    line = s.text
    sampling, has_alloc = "", False
    if _HEAP_HEADER.search(line):
        sampling, period, has_alloc = _heap_header(line)
        what = "Go heap profile (debug=1)" if "@ heap/" in line else "heap profile (heapz)"
    elif _GROWTH_HEADER.search(line):
        period, what = 1, "growth profile (growthz)"
    elif _FRAG_HEADER.search(line):
        period, what = 1, "fragmentation profile"
    else:
        raise NotThisFormat
    types = ([("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
              ("inuse_space", "bytes")] if has_alloc else [("objects", "count"), ("space", "bytes")])
    p = AddressProfile(types, ("space", "bytes"), period)
    memstats_at = None
    while s.scan():
        line = trim(s.text)
        if space_or_comment(line):
            if line == "# " + MEMSTATS:
                memstats_at = len(p.comments)
                p.comments.append(MEMSTATS)
            elif memstats_at is not None and line.startswith("# "):
                p.comments.append(line[2:])
            continue
        if is_map_sentinel(line):
            break
        values, block, addrs = _heap_sample(line, period, sampling, has_alloc, source, what)
        p.add([(a - 1) & U64 for a in addrs], values, block)
    additional_sections(s, p)
    return p.to_profile(source)


def _heap_sample(line, rate, sampling, has_alloc, source, what):
    m = _HEAP_SAMPLE.search(line)
    if not m:
        raise ProfileError(source, f"{what}: malformed sample line {line[:80]!r} "
                           "(want 'INUSE_COUNT: INUSE_BYTES [ALLOC_COUNT: ALLOC_BYTES] @ 0xADDR ...')")
    values: list[int] = []
    block = 0

    def add(count_s: str, size_s: str, label: str) -> None:
        nonlocal block
        try:
            count, size = go_int(count_s, False), go_int(size_s, False)
        except ValueError:
            raise ProfileError(source, f"{what}: number out of range in {line[:80]!r}") from None
        if count == 0 and size != 0:
            raise ProfileError(source, f"{what}: {label} count was 0 but {label} bytes was {size} in {line[:80]!r}")
        if count != 0:
            block = go_div(size, count)
            if sampling == "v2":
                count, size = scale_heap(count, size, rate)
        values.extend((count, size))

    if has_alloc:
        add(m.group(3), m.group(4), "allocation")
    add(m.group(1), m.group(2), "inuse")
    return values, block, hex_addresses(m.group(5), source, what)


def contention_profile(text: str, source: str) -> Profile:
    """Go block/mutex debug=1 (`--- contention:`, `--- mutex:`) and C++ contentionz pages."""
    s = LineScanner(text)
    if not s.scan():
        raise NotThisFormat
    head = s.text
    if not head.startswith(("--- contentionz ", "--- mutex:", "--- contention:")):
        raise NotThisFormat
    what = "C++ contention profile (contentionz)" if head.startswith("--- contentionz") else \
        f"Go {'mutex' if head.startswith('--- mutex') else 'block'} profile (debug=1)"
    p = AddressProfile([("contentions", "count"), ("delay", "nanoseconds")], ("contentions", "count"), 1)
    cpu_hz = 0
    while s.scan():
        line = trim(s.text)
        if space_or_comment(line):
            continue
        if line.startswith("---"):
            break
        if "=" not in line:
            break
        key, val = (trim(x) for x in line.split("=", 1))
        try:
            if key == "cycles/second":
                cpu_hz = go_int(val)
            elif key == "sampling period":
                p.period = go_int(val)
            elif key == "ms since reset":
                p.duration_nanos = wrap64(go_int(val) * 1000 * 1000)
            elif key != "discarded samples":
                raise NotThisFormat           # e.g. Java's format=, resolution=
        except ValueError:
            raise NotThisFormat from None
    while True:
        line = trim(s.text)
        if line.startswith("---"):
            break
        if not space_or_comment(line):
            m = _CONTENTION_SAMPLE.search(line)
            if not m:
                raise NotThisFormat
            try:
                cycles, count = go_int(m.group(1), False), go_int(m.group(2), False)
            except ValueError:
                raise ProfileError(source, f"{what}: number out of range in {line[:80]!r}") from None
            if p.period > 0:
                if cpu_hz > 0:
                    cycles = float_to_i64(float(cycles) * float(p.period) / (float(cpu_hz) / 1e9))
                count = wrap64(count * p.period)
            p.add([(a - 1) & U64 for a in hex_addresses(m.group(3), source, what)], [count, cycles])
        if not s.scan():
            break
    additional_sections(s, p)
    return p.to_profile(source)


def thread_profile(text: str, source: str) -> Profile:
    """C++ threadz pages: one `--- Thread ID (name: N/TID) stack: ---` block per thread."""
    s = LineScanner(text)
    while s.scan() and space_or_comment(s.text):
        pass
    line = s.text
    if _THREADZ_START.search(line):
        while s.scan():
            line = s.text
            if is_map_sentinel(line) or line.startswith("-"):
                break
    elif not _THREAD_START.search(line):
        raise NotThisFormat
    what = "thread profile (threadz)"
    p = AddressProfile([("thread", "count")], ("thread", "count"), 1)
    while not is_map_sentinel(line):
        if line.startswith("---- no stack trace for"):
            break
        if not _THREAD_START.search(line):
            raise NotThisFormat
        line, addrs = _thread_stack(s, source, what)
        if addrs is None:                 # "same as previous thread": one more of the last stack
            if p.values:
                p.values[-1][0] = wrap64(p.values[-1][0] + 1)
            continue
        p.add([a if i == 0 else (a - 1) & U64 for i, a in enumerate(addrs)], [1])
    additional_sections(s, p)
    drop_duplicate_leaf(p)
    return p.to_profile(source)


def _thread_stack(s: LineScanner, source: str, what: str):
    line = ""
    same = False
    addrs: list[int] = []
    while s.scan():
        line = trim(s.text)
        if not line:
            continue
        if line.startswith("---"):
            break
        if "same as previous thread" in line:
            same = True
            continue
        addrs.extend(hex_addresses(line, source, what))
    return line, (None if same else addrs)


def drop_duplicate_leaf(p: AddressProfile) -> None:
    """A leaf seen both from the signal context and by unwinding (then one byte lower) is kept once."""
    for st in p.stacks:
        if len(st) > 1 and p.addr[st[0]] == (p.addr[st[1]] + 1) & U64:
            del st[1]


def memstats(profile: Profile) -> pd.DataFrame:
    """The `# runtime.MemStats` trailer of a Go heap/allocs debug=1 page: name, value (as written)."""
    c = profile.comments
    if MEMSTATS not in c:
        return pd.DataFrame({"name": pd.Series(dtype=object), "value": pd.Series(dtype=object)})
    rows = [x.split(" = ", 1) for x in c[c.index(MEMSTATS) + 1:] if " = " in x]
    return pd.DataFrame(rows, columns=["name", "value"])
