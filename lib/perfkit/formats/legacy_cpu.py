"""The legacy binary CPU profile of gperftools (Go wrote it up to Go 1.8), and its Java variant.

Words are 32 or 64 bits in either byte order; the header tells which: 0, 3, 0 (C++/Go) or 1 (Java),
the sampling period in microseconds, 0. Then `count, depth, pc...` records up to the `0, 1, 0`
trailer, and the process's /proc/self/maps as text (C++/Go) or Java's symbol lines.
"""
from __future__ import annotations

from ..model.profile import Profile
from .legacy_base import U64, AddressProfile, NotThisFormat, lines_of, parse_maps, wrap64
from .legacy_java import java_symbols
from .legacy_text import drop_duplicate_leaf

_WORDS = ((4, "little"), (4, "big"), (8, "little"), (8, "big"))    # the order pprof tries them in


def cpu_profile(data: bytes, source: str) -> Profile:
    for size, order in _WORDS:
        if len(data) < 5 * size:
            continue
        h = [int.from_bytes(data[i * size:(i + 1) * size], order) for i in range(5)]
        if h[0] == 0 and h[1] == 3 and h[2] in (0, 1) and h[3] > 0 and h[4] == 0:
            java = h[2] == 1
            period = wrap64(wrap64(h[3]) * 1000)
            p = AddressProfile([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), period)
            rest = _samples(data, 5 * size, size, order, not java, p)
            text = rest.decode("utf-8", errors="replace")
            if java:
                java_symbols(text, p, source, "Java CPU profile")
                return p.to_profile(source, zero_addresses=True)
            _strip_handler_frames(p)
            p.add_mappings(parse_maps(lines_of(text)))
            drop_duplicate_leaf(p)
            return p.to_profile(source)
    raise NotThisFormat


def _samples(data: bytes, pos: int, size: int, order: str, adjust: bool, p: AddressProfile) -> bytes:
    """Read records from pos; return the bytes after the end-of-data record."""
    n = len(data)

    def word(at: int) -> tuple[int, int | None]:
        if at is None or n - at < size:
            return 0, None
        return int.from_bytes(data[at:at + size], order), at + size

    while pos is not None and pos < n:
        count, pos = word(pos)
        depth, pos = word(pos)
        if pos is None or depth > (n - pos) // 4:
            raise NotThisFormat
        addrs = []
        for _ in range(depth):
            a, pos = word(pos)
            addrs.append(a)
        if count == 0 and depth == 1 and addrs[0] == 0:
            break
        if adjust:
            addrs = [a if i == 0 else (a - 1) & U64 for i, a in enumerate(addrs)]
        c = wrap64(count)
        p.add(addrs, [c, wrap64(c * p.period)])
    return data[pos:] if pos is not None else b""


def _strip_handler_frames(p: AddressProfile) -> None:
    """When (nearly) every sample has the same second frame, it is the signal handler's: drop it, twice."""
    margin = len(p.stacks) // 32
    for _ in range(2):
        seen: dict[int, int] = {}
        for st in p.stacks:
            if len(st) > 1:
                a = p.addr[st[1]]
                seen[a] = seen.get(a, 0) + 1
        for a, c in seen.items():
            if c >= len(p.stacks) - margin:
                for st in p.stacks:
                    if len(st) > 1 and p.addr[st[1]] == a:
                        del st[1]
                break

