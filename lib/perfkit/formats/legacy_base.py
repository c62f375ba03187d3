"""What the legacy profile parsers share: Go's number and line rules, memory maps, and the
address-keyed accumulator that becomes a perfkit Profile the way pprof finishes a legacy profile.

The rules follow google/pprof's legacy parsers (profile/legacy_profile.go), which `go tool pprof`
vendors: the same regexps, the same address adjustment, mapping heuristics and drop_frames.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ProfileError
from ..model.profile import Profile, ValueType
from ..model.prune import prune_frames

U64 = (1 << 64) - 1
I64_MIN = -(1 << 63)
S = r"[\t\n\f\r ]"                 # Go regexp's \s (no \v)
HEX = r"[0-9A-Fa-f]"
HEX_NUMBER = re.compile(r"0x[0-9a-f]+")
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
            "\u200a\u2028\u2029\u202f\u205f\u3000"


class NotThisFormat(Exception):
    """A parser does not recognise the input: the next parser is tried (pprof's errUnrecognized)."""


def wrap64(v: int) -> int:
    """Two's complement int64, as Go's arithmetic wraps."""
    v &= U64
    return v - (1 << 64) if v >> 63 else v


def float_to_i64(x: float) -> int:
    """Go's int64(float64) on amd64: truncation, and the 'integer indefinite' value when out of range."""
    if x != x or x >= 2.0 ** 63 or x < -(2.0 ** 63):
        return I64_MIN
    return int(x)


def go_div(a: int, b: int) -> int:
    """Go's integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return wrap64(-q if (a < 0) != (b < 0) else q)


def trim(s: str) -> str:
    return s.strip(_GO_SPACE)


def space_or_comment(line: str) -> bool:
    t = trim(line)
    return not t or t[0] == "#"


def lines_of(text: str) -> list[str]:
    """bufio.Scanner's lines: split on \\n, one trailing \\r dropped, no empty last line."""
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in out]


_BASES = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}


def go_int(s: str, base0: bool = True) -> int:
    """strconv.ParseInt(s, 0 or 10, 64); ValueError where Go fails."""
    neg = s[:1] == "-"
    body = s[1:] if s[:1] in "+-" else s
    base, digits = 10, body
    if base0 and body[:2] in _BASES:
        base, digits = _BASES[body[:2]], body[2:]
    elif base0 and len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:]
    if base0 and "_" in digits:
        if base == 10 or digits.endswith("_") or "__" in digits:
            raise ValueError(s)
        digits = digits.replace("_", "")
    allowed = "0123456789abcdef"[:base]
    if not digits or any(len(c.lower()) != 1 or c.lower() not in allowed for c in digits):
        raise ValueError(s)
    v = int(digits, base)
    v = -v if neg else v
    if not -(1 << 63) <= v < (1 << 63):
        raise ValueError(s)
    return v


def hex_addresses(line: str, source: str, what: str) -> list[int]:
    out = []
    for h in HEX_NUMBER.findall(line):
        v = int(h, 16)
        if v > U64:
            raise ProfileError(source, f"{what}: malformed sample {line.strip()!r}: address {h} exceeds 64 bits")
        out.append(v)
    return out


# ---- memory maps ---------------------------------------------------------------
_C_HEX = rf"(?:0x)?({HEX}+)"
_C_RANGE = rf"{S}*{_C_HEX}[\t\n\f\r -]?{S}*{_C_HEX}:?"
_C_PERM = rf"(?:{S}+([-rwxp]+))?"
_PROC_MAPS = re.compile(rf"^{_C_RANGE}{_C_PERM}(?:{S}+({HEX}+))?{S}+{HEX}+:{HEX}+{S}+[0-9]+(?:{S}+(\S+))?")
_BRIEF_MAPS = re.compile(rf"^{_C_RANGE}{_C_PERM}(?:{S}+(\S+))?(?:{S}+\(@({HEX}+)\))?(?:{S}+({HEX}+))?")
_LOG_PREFIX = re.compile(r"^[^\[\]]+:[0-9]+]\s", re.ASCII)
MAP_SENTINELS = ("--- Memory map: ---", "MAPPED_LIBRARIES:")
_LIB = re.compile(r"([.]so$|[.]so[._][0-9]+)")


def is_map_sentinel(line: str) -> bool:
    return any(s in line for s in MAP_SENTINELS)


@dataclass
class LegacyMapping:
    start: int
    limit: int
    offset: int = 0
    file: str = ""
    build_id: str = ""


def _go_non_ws(m: re.Match, i: int) -> str:
    return m.group(i) or ""


def _mapping_entry(line: str) -> LegacyMapping | None | bool:
    """One map line: a mapping, None (not executable: skipped), or False (not a map line)."""
    m = _PROC_MAPS.match(line)
    if m:
        start, end, perm, offset, file, build_id = (m.group(1), m.group(2), _go_non_ws(m, 3), _go_non_ws(m, 4),
                                                    _go_non_ws(m, 5), "")
    else:
        m = _BRIEF_MAPS.match(line)
        if not m:
            return False
        start, end, perm, file, offset, build_id = (m.group(1), m.group(2), _go_non_ws(m, 3), _go_non_ws(m, 4),
                                                    _go_non_ws(m, 5), _go_non_ws(m, 6))
    if perm and "x" not in perm:
        return None
    try:
        a, b = int(start, 16), int(end, 16)
        off = int(offset, 16) if offset else 0
    except ValueError:
        return False
    if a > U64 or b > U64 or off > U64:
        return False
    return LegacyMapping(a, b, off, file, build_id)


def parse_maps(lines: list[str]) -> list[LegacyMapping]:
    """Mappings from /proc/self/maps-like lines; `attr=value` lines define $attr for later lines."""
    out: list[LegacyMapping] = []
    subst: list[tuple[str, str]] = []
    for raw in lines:
        m = _LOG_PREFIX.search(raw)
        line = raw[m.end():] if m else raw
        line = _replace(line, subst)
        e = _mapping_entry(line)
        if e is False:
            if "=" in line:
                k, v = line.split("=", 1)
                subst.append(("$" + trim(k), trim(v)))
            continue
        if e is not None:
            out.append(e)
    return out


def _replace(line: str, subst: list[tuple[str, str]]) -> str:
    """strings.NewReplacer: at each position the first listed old string that matches wins."""
    if not subst:
        return line
    out, i = [], 0
    while i <= len(line):
        for old, new in subst:
            if line.startswith(old, i):
                out.append(new)
                if old:
                    i += len(old)
                    break
                out.append(line[i:i + 1])
                i += 1
                break
        else:
            out.append(line[i:i + 1])
            i += 1
    return "".join(out)


# ---- frame rules pprof sets on legacy profiles ------------------------------------
_ALLOC_DROP = "|".join([
    "calloc", "cfree", "malloc", "free", "memalign", "do_memalign", "(__)?posix_memalign", "pvalloc", "valloc",
    "realloc", "tcmalloc::.*", "tc_calloc", "tc_cfree", "tc_malloc", "tc_free", "tc_memalign", "tc_posix_memalign",
    "tc_pvalloc", "tc_valloc", "tc_realloc", "tc_new", "tc_delete", "tc_newarray", "tc_deletearray",
    "tc_new_nothrow", "tc_newarray_nothrow", "malloc_zone_malloc", "malloc_zone_calloc", "malloc_zone_valloc",
    "malloc_zone_realloc", "malloc_zone_memalign", "malloc_zone_free", r"runtime\..*", "BaseArena::.*",
    "(::)?do_malloc_no_errno", "(::)?do_malloc_pages", "(::)?do_malloc", "DoSampledAllocation",
    "MallocedMemBlock::MallocedMemBlock", "_M_allocate", "__builtin_(vec_)?delete", "__builtin_(vec_)?new",
    "__gnu_cxx::new_allocator::allocate", "__libc_malloc", "__malloc_alloc_template::allocate", "allocate",
    "cpp_alloc", r"operator new(\[\])?", "simple_alloc::allocate"])
_ALLOC_KEEP = r"runtime\.panic|runtime\.reflectcall|runtime\.call[0-9]*"
_CPU_DROP = "ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|__pthread_sighandler|__restore"
_LOCK_DROP = "|".join([
    "RecordLockProfileData", "(base::)?RecordLockProfileData.*", "(base::)?SubmitMutexProfileData.*",
    "(base::)?SubmitSpinLockProfileData.*", "(base::Mutex::)?AwaitCommon.*", "(base::Mutex::)?Unlock.*",
    "(base::Mutex::)?UnlockSlow.*", "(base::Mutex::)?ReaderUnlock.*", "(base::MutexLock::)?~MutexLock.*",
    "(Mutex::)?AwaitCommon.*", "(Mutex::)?Unlock.*", "(Mutex::)?UnlockSlow.*", "(Mutex::)?ReaderUnlock.*",
    "(MutexLock::)?~MutexLock.*", "(SpinLock::)?Unlock.*", "(SpinLock::)?SlowUnlock.*",
    "(SpinLockHolder::)?~SpinLockHolder.*"])
_HEAP_TYPES = (("allocations", "size"), ("objects", "space"), ("inuse_objects", "inuse_space"),
               ("alloc_objects", "alloc_space"), ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space"))


def legacy_frame_rules(types: tuple[str, ...]) -> tuple[str, str]:
    """(drop_frames, keep_frames) pprof gives a legacy profile of these sample types."""
    if types in _HEAP_TYPES:
        return _ALLOC_DROP, _ALLOC_KEEP
    if types == ("contentions", "delay"):
        return _LOCK_DROP, ""
    return _CPU_DROP, ""


# ---- the accumulator --------------------------------------------------------------
_MAPPING_DTYPES = {"id": np.uint64, "memory_start": np.uint64, "memory_limit": np.uint64,
                   "file_offset": np.uint64, "file": object, "build_id": object, "has_functions": bool,
                   "has_filenames": bool, "has_line_numbers": bool, "has_inline_frames": bool}


class AddressProfile:
    """Samples over addresses (one location per distinct address) while a legacy file is read."""

    def __init__(self, sample_types: list[tuple[str, str]], period_type: tuple[str, str] | None, period: int):
        self.sample_types = list(sample_types)
        self.period_type = period_type
        self.period = period
        self.duration_nanos = 0
        self.comments: list[str] = []
        self.addr: list[int] = []                  # location -> address
        self.frame: list[tuple[str, str, int] | None] = []   # location -> (function, file, line), Java only
        self._by_addr: dict[int, int] = {}
        self.stacks: list[list[int]] = []          # sample -> location indices, leaf first
        self.values: list[list[int]] = []
        self.block: list[int | None] = []          # sample -> 'bytes' numeric label
        self.mappings: list[LegacyMapping] = []

    def loc(self, address: int) -> int:
        i = self._by_addr.get(address)
        if i is None:
            i = self._by_addr[address] = len(self.addr)
            self.addr.append(address)
            self.frame.append(None)
        return i

    def has_address(self, address: int) -> bool:
        return address in self._by_addr

    def add(self, addresses, values: list[int], block: int | None = None) -> None:
        self.stacks.append([self.loc(a) for a in addresses])
        self.values.append(values)
        self.block.append(block)

    # pprof's ParseMemoryMap: merge split mappings, put the main binary first
    def add_mappings(self, maps: list[LegacyMapping]) -> None:
        ms = self.mappings + maps
        if len(ms) > 1:
            merged = [ms[0]]
            for m in ms[1:]:
                last = merged[-1]
                if _adjacent(last, m):
                    last.limit = m.limit
                    last.file = m.file or last.file
                    last.build_id = m.build_id or last.build_id
                    continue
                merged.append(m)
            ms = merged
        for i, m in enumerate(ms):
            f = trim(m.file.replace("(deleted)", ""))
            if f and not _LIB.search(f) and f[0] != "[":
                ms[0], ms[i] = ms[i], ms[0]
                break
        self.mappings = ms

    def _assign_mappings(self, used: np.ndarray) -> tuple[list[LegacyMapping], np.ndarray]:
        """pprof's remapMappingIDs: each used, non-zero address gets a mapping, or one fake mapping."""
        ms = list(self.mappings)
        if ms and ms[0].file.startswith("/anon_hugepage") and len(ms) > 1 and ms[0].limit == ms[1].start:
            ms = ms[1:]
        if ms and (ms[0].start - ms[0].offset) & U64 == 0x400000:
            ms[0].start, ms[0].offset = 0x400000, 0
        out = np.full(len(self.addr), -1, np.int64)
        fake = -1
        for i in used:
            a = self.addr[i]
            if a == 0:
                continue
            hit = next((j for j, m in enumerate(ms) if m.start <= a < m.limit), -1)
            if hit < 0:
                for j, m in enumerate(ms):
                    if m.offset and (m.start - m.offset) & U64 <= a < m.start:
                        m.start, m.offset = (m.start - m.offset) & U64, 0
                        hit = j
                        break
            if hit < 0:
                if fake < 0:
                    ms.append(LegacyMapping(0, U64))
                    fake = len(ms) - 1
                hit = fake
            out[i] = hit
        return ms, out

    def to_profile(self, source: str, *, zero_addresses: bool = False) -> Profile:
        k = len(self.sample_types)
        n = len(self.stacks)
        used = sorted({loc for st in self.stacks for loc in st})
        ms, loc_map = self._assign_mappings(np.asarray(used, np.int64))
        # keep the locations samples use, in order of first use (pprof's remapLocationIDs)
        order = list(dict.fromkeys(loc for st in self.stacks for loc in st))
        new_index = {old: i for i, old in enumerate(order)}
        nloc = len(order)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum([len(st) for st in self.stacks], out=offsets[1:])
        stack_locs = np.fromiter((new_index[x] for st in self.stacks for x in st), np.int32, int(offsets[-1]))
        address = np.fromiter((0 if zero_addresses else self.addr[i] for i in order), np.uint64, nloc)
        fns: dict[tuple[str, str], int] = {}
        line_fn, line_no, line_start = [], [], [0]
        for i in order:
            fr = self.frame[i]
            if fr is not None:
                f = fns.setdefault((fr[0], fr[1]), len(fns))
                line_fn.append(f)
                line_no.append(fr[2])
            line_start.append(len(line_fn))
        fn_name = np.array([name for name, _ in fns] or [], object)
        fn_file = np.array([file for _, file in fns] or [], object)
        mappings = pd.DataFrame({
            "id": np.arange(1, len(ms) + 1, dtype=np.uint64),
            "memory_start": np.array([m.start for m in ms], np.uint64),
            "memory_limit": np.array([m.limit for m in ms], np.uint64),
            "file_offset": np.array([m.offset for m in ms], np.uint64),
            "file": np.array([m.file for m in ms], object), "build_id": np.array([m.build_id for m in ms], object),
            **{c: np.zeros(len(ms), bool) for c in ("has_functions", "has_filenames", "has_line_numbers",
                                                     "has_inline_frames")}})
        lab = [(i, b) for i, b in enumerate(self.block) if b is not None]
        labels = pd.DataFrame({"sample": np.array([i for i, _ in lab], np.int64),
                               "key": np.array(["bytes"] * len(lab), object),
                               "str": np.array([""] * len(lab), object),
                               "num": np.array([b for _, b in lab], np.int64),
                               "num_unit": np.array([""] * len(lab), object)})
        types = tuple(t for t, _ in self.sample_types)
        drop, keep = legacy_frame_rules(types)
        values = np.array(self.values, np.int64).reshape(n, k) if n else np.zeros((0, k), np.int64)
        prof = Profile(
            sample_types=[ValueType(t, u) for t, u in self.sample_types], values=values,
            stack_offsets=offsets, stack_locs=stack_locs,
            loc_id=np.arange(1, nloc + 1, dtype=np.uint64),
            loc_mapping=np.array([loc_map[i] for i in order], np.int64).reshape(nloc),
            loc_address=address, loc_is_folded=np.zeros(nloc, bool),
            loc_line_start=np.array(line_start, np.int64), line_function=np.array(line_fn, np.int64),
            line_number=np.array(line_no, np.int64), line_column=np.zeros(len(line_fn), np.int64),
            fn_id=np.arange(1, len(fns) + 1, dtype=np.uint64), fn_name=fn_name, fn_system_name=fn_name.copy(),
            fn_filename=fn_file, fn_start_line=np.zeros(len(fns), np.int64), mappings=mappings, labels=labels,
            period_type=ValueType(*self.period_type) if self.period_type else None, period=self.period,
            duration_nanos=self.duration_nanos, comments=list(self.comments), drop_frames=drop,
            keep_frames=keep, source=source)
        return prune_frames(prof)


def _adjacent(a: LegacyMapping, b: LegacyMapping) -> bool:
    if a.file and b.file and a.file != b.file:
        return False
    if a.build_id and b.build_id and a.build_id != b.build_id:
        return False
    if a.limit != b.start:
        return False
    if a.offset and b.offset and (a.offset + (a.limit - a.start)) & U64 != b.offset:
        return False
    return True


class LineScanner:
    """bufio.Scanner over lines: scan() advances, text is the current line ('' once exhausted)."""

    def __init__(self, text: str):
        self.lines = lines_of(text)
        self.i = -1
        self.text = ""

    def scan(self) -> bool:
        self.i += 1
        if self.i < len(self.lines):
            self.text = self.lines[self.i]
            return True
        self.i = len(self.lines)
        self.text = ""
        return False

    def rest(self) -> list[str]:
        """The lines after the current one (consumes them)."""
        out = self.lines[self.i + 1:]
        self.i = len(self.lines)
        self.text = ""
        return out


def additional_sections(s: LineScanner, p: AddressProfile) -> None:
    """Skip to a memory-map sentinel and read the mappings after it (pprof's parseAdditionalSections)."""
    while not is_map_sentinel(s.text) and s.scan():
        pass
    p.add_mappings(parse_maps(s.rest()))
