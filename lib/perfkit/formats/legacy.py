"""Every profile format `go tool pprof` reads besides profile.proto, recognised by content, and a
description of what a file in none of them looks like.

The parsers are tried in pprof's order (binary CPU, heap, Go count, threadz, contention, Java); one
that recognises the file and then finds it malformed stops the search, as in pprof.
"""
from __future__ import annotations

import json
import re

from ..model.profile import Profile
from .legacy_base import NotThisFormat
from .legacy_cpu import cpu_profile
from .legacy_java import java_profile
from .legacy_text import contention_profile, go_count_profile, heap_profile, thread_profile

_TEXT_PARSERS = (heap_profile, go_count_profile, thread_profile, contention_profile, java_profile)


def read_legacy_profile(data: bytes, source: str) -> Profile | None:
    """The profile in a legacy format, None when the bytes are in none of them.

    Raises ProfileError when a format recognises the file but its content is malformed.
    """
    try:
        return cpu_profile(data, source)
    except NotThisFormat:
        pass
    text = data.decode("utf-8", errors="replace")
    for parse in _TEXT_PARSERS:
        try:
            return parse(text, source)
        except NotThisFormat:
            continue
    return None


_TRACE = re.compile(rb"^go 1\.[0-9]+ trace\x00")
_GOROUTINE_DUMP = re.compile(r"^goroutine [0-9]+ (?:gp=\S+ )?(?:m=\S+ )?(?:mp=\S+ )?\[")
_PROFILE_ADVICE = ("perfkit reads profile.proto (what /debug/pprof/NAME serves by default) and the text and "
                   "legacy profiles go tool pprof reads")


def describe_unknown(data: bytes, gzipped: bool) -> str:
    """One sentence: what the (decompressed) bytes look like and what to do instead."""
    kind, advice = _looks_like(data)
    return (f"not a profile.proto message, nor a text or legacy profile go tool pprof reads: "
            f"{'gzip-compressed ' if gzipped else ''}{kind}; {advice}")


def _looks_like(data: bytes) -> tuple[str, str]:
    head = data[:4096]
    if head.startswith(b"\x1f\x8b"):
        return "gzip data (compressed twice)", "decompress it once and read the result"
    if head.startswith(b"\x7fELF"):
        return "an ELF executable or library", "perfkit does not read binaries; pass the profile the program wrote"
    if _TRACE.match(head):
        return ("a Go execution trace (runtime/trace)",
                "read it with perfkit.read_trace, or keep it in an archive under the name 'trace'")
    if head.startswith(b"PERFILE2"):
        return "a Linux perf.data file", "convert it to profile.proto first (e.g. with google/perf_data_converter)"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    low = text[:512].lower()
    if low.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in low:
        return ("an HTML page (often a proxy, login or error page returned instead of the profile)",
                "fetch the /debug/pprof endpoint directly and check the HTTP status and the URL")
    if text[:1] in ("{", "["):
        kind = "JSON"
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            kind = "JSON-like text (not valid JSON)"
        if "speedscope" in text[:1024]:
            kind = "speedscope JSON"
        return (f"{kind}, not a profile",
                f"{_PROFILE_ADVICE}; export the data as pprof from the tool that wrote it")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if _GOROUTINE_DUMP.match(first):
        return ("a goroutine dump (goroutine?debug=2 or a crash/SIGQUIT traceback), which has no counts",
                "fetch goroutine?debug=1 or debug=0 for a profile, or read the dump with "
                "perfkit.parse_goroutines")
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    if head and printable >= 0.95 * len(head):
        return (f"text in no known profile format (first line {first[:60]!r})",
                f"{_PROFILE_ADVICE}; check what wrote this file")
    return (f"binary data in no known format (first bytes {head[:8].hex(' ')})",
            f"{_PROFILE_ADVICE}; check that the file is complete (not truncated) and what wrote it")
