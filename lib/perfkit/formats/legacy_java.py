"""Java profiles in the legacy text format: `--- heapz 1 ---` and `--- contentionz 1 ---` pages, and the
symbol section that also follows a Java binary CPU profile.

A page is a header line, `name=value` attributes (format=java, resolution=UNIT, sampling period=N,
ms since reset=N), `VALUE COUNT @ 0xADDR ...` samples, then one `0xADDR function (File.java:LINE)`
line per address. Java addresses are identities, not code addresses: they are not adjusted, and
pprof drops them once the symbol section named them.
"""
from __future__ import annotations

import re

from ..errors import ProfileError
from ..model.profile import Profile
from .legacy_base import S, U64, AddressProfile, NotThisFormat, go_div, go_int, hex_addresses, trim, wrap64
from .legacy_text import scale_heap

_ATTRIBUTE = re.compile(r"([0-9A-Za-z_ ]+)=([0-9A-Za-z_ ]+)")
_SAMPLE = re.compile(r" *([0-9]+) +([0-9]+) +@ +([ x0-9a-f]*)")
_LOCATION = re.compile(rf"^{S}*0x([0-9A-Fa-f]+){S}+(.*){S}*$")
_FILE_LINE = re.compile(rf"^(.*){S}+\((.+):(-?[0-9]+)\)$")
_PATH = re.compile(rf"^(.*){S}+\((.*)\)$")
JAVA_HEAP_RATE = 524288                  # the JVM samples one allocation per 512 KiB on average


def _lines_with_newline(text: str):
    """(line, rest after it) for every line that ends in a newline, as pprof's Java reader walks them."""
    pos = 0
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            return
        yield text[pos:nl], nl + 1
        pos = nl + 1


def java_profile(text: str, source: str) -> Profile:
    head, sep, rest = text.partition("\n")
    if not sep:
        raise NotThisFormat
    kind = {"--- heapz 1 ---": "heap", "--- contentionz 1 ---": "contention"}.get(trim(head))
    if kind is None:
        raise NotThisFormat
    what = f"Java {kind} profile"
    p = AddressProfile([], None, 0)
    rest = _header(kind, rest, p, source, what)
    rest = _samples(kind, rest, p, source, what)
    java_symbols(rest, p, source, what)
    if p.values and not p.sample_types:
        raise ProfileError(source, f"{what}: no resolution= attribute, so the sample types are unknown")
    return p.to_profile(source, zero_addresses=True)


def _take_lines(text: str, take) -> str:
    """Feed each non-blank line to ``take`` until it returns False; the text from that line on."""
    start = 0
    for raw, nxt in _lines_with_newline(text):
        line = trim(raw)
        if line and not take(line):
            return text[start:]
        start = nxt
    return text[start:]


def _header(kind: str, text: str, p: AddressProfile, source: str, what: str) -> str:
    def take(line: str) -> bool:
        h = _ATTRIBUTE.search(line)
        if not h:
            return False
        attr, value = trim(h.group(1)), trim(h.group(2))
        key = f"{kind}/{attr}"
        if attr == "format":
            if value != "java":
                raise NotThisFormat
        elif key == "heap/resolution":
            p.sample_types = [("inuse_objects", "count"), ("inuse_space", value)]
        elif key == "contention/resolution":
            p.sample_types = [("contentions", "count"), ("delay", value)]
        elif key == "contention/sampling period":
            p.period_type = ("contentions", "count")
            p.period = _attr_int(value, line, source, what)
        elif key == "contention/ms since reset":
            p.duration_nanos = wrap64(_attr_int(value, line, source, what) * 1000 * 1000)
        else:
            raise NotThisFormat
        return True
    return _take_lines(text, take)


def _attr_int(value: str, line: str, source: str, what: str) -> int:
    try:
        return go_int(value)
    except ValueError:
        raise ProfileError(source, f"{what}: cannot parse attribute {line!r}") from None


def _samples(kind: str, text: str, p: AddressProfile, source: str, what: str) -> str:
    def take(line: str) -> bool:
        m = _SAMPLE.search(line)
        if not m:
            return False
        addrs = hex_addresses(m.group(3), source, what)
        try:
            count, value = go_int(m.group(2)), go_int(m.group(1))
        except ValueError:
            raise ProfileError(source, f"{what}: cannot parse sample {line!r}") from None
        block = None
        if kind == "heap":
            if count == 0:
                raise ProfileError(source, f"{what}: sample {line!r} has a zero count")
            block = go_div(value, count)
            count, value = scale_heap(count, value, JAVA_HEAP_RATE)
        elif p.period:
            count, value = wrap64(count * p.period), wrap64(value * p.period)
        p.add(addrs, [count, value], block)
        return True
    return _take_lines(text, take)


def go_base(path: str) -> str:
    """filepath.Base."""
    if path == "":
        return "."
    path = path.rstrip("/")
    return path.rsplit("/", 1)[-1] if path else "/"


def java_symbols(text: str, p: AddressProfile, source: str, what: str) -> None:
    """Name the locations from `0xADDR function (File.java:LINE)` lines; named ones lose their address."""
    files: dict[str, str] = {}
    for raw in text.split("\n"):
        line = trim(raw)
        if not line:
            continue
        m = _LOCATION.match(line)
        if not m:
            continue
        addr = int(m.group(1), 16)
        if addr > U64:
            raise ProfileError(source, f"{what}: address out of range in {line!r}")
        if not p.has_address(addr):
            continue
        desc, lineno, file = m.group(2), 0, ""
        fl = _FILE_LINE.match(desc)
        pm = _PATH.match(desc) if not fl else None
        if fl:
            func, file = fl.group(1), fl.group(2)
            try:
                n = go_int(fl.group(3), False)
                lineno = n if n > 0 else 0
            except ValueError:
                pass
        elif pm:
            func, file = pm.group(1), go_base(pm.group(2))
        elif "generated stub/JIT" in desc:
            func = "STUB"
        else:
            func = desc
        file = files.setdefault(func, file)          # pprof keys Java functions by name alone
        i = p.loc(addr)
        p.frame[i] = (func, file, lineno)
        p.addr[i] = 0
