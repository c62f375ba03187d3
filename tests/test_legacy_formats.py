"""Text and legacy profile formats without the Go tool: content detection, the errors for files in no
known format, malformed files, and the numbers pprof's rules give (scaling, address adjustment)."""
from __future__ import annotations

import gzip
import json
import math

import pytest

import legacygen
import perfkit
from perfkit.formats.legacy_base import go_int, parse_maps

SRC = "input"


def _refused(data: bytes, *words: str) -> perfkit.ProfileError:
    with pytest.raises(perfkit.ProfileError) as ei:
        perfkit.decode_profile(data, source=SRC)
    e = ei.value
    assert str(e).startswith(SRC + ": ")
    for w in words:
        assert w.lower() in str(e).lower(), f"{w!r} not in {str(e)!r}"
    return e


@pytest.mark.parametrize("data,words", [
    (b'{"traceEvents": []}', ["not a profile.proto", "json"]),
    (json.dumps({"$schema": "https://www.speedscope.app/file-format-schema.json"}).encode(), ["speedscope json"]),
    (b"go 1.22 trace\x00\x00\x00" + bytes(64), ["go execution trace", "perfkit.read_trace"]),
    (b"goroutine 1 [running]:\nmain.main()\n\t/src/main.go:5 +0x1d\n", ["goroutine dump", "debug=1"]),
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", ["html page", "proxy", "http status"]),
    (b"\x7fELF\x02\x01\x01" + bytes(60), ["elf executable"]),
    (b"just some notes\n", ["text in no known profile format", "just some notes"]),
    (bytes(range(256)) * 4, ["binary data in no known format"]),
])
def test_unknown_formats_are_named(data, words):
    _refused(data, *words)
    _refused(gzip.compress(data), "gzip-compressed", *words)       # also once decompressed


def test_gzip_of_gzip():
    _refused(gzip.compress(gzip.compress(b"hello")), "compressed twice")


def test_formats_are_detected_by_content_not_name(tmp_path):
    p = tmp_path / "profile.pb.gz"                     # a profile.proto name on a text heap page
    p.write_text(legacygen.heap_profile(1, "heapprofile"))
    assert perfkit.read_profile(p).sample_type_names == ["alloc_objects", "alloc_space", "inuse_objects",
                                                         "inuse_space"]


@pytest.mark.parametrize("text,words", [
    ("goroutine profile: total 1\n1 @ zz\n", ["goroutine profile", "malformed sample"]),
    ("heap profile: 1: 2 [3: 4] @ heapprofile\nnot a sample\n", ["heap profile", "malformed sample"]),
    ("heap profile: 1: 2 [3: 4] @ heapprofile\n0: 5 [0: 0] @ 0x1\n", ["inuse count was 0"]),
    ("--- contention:\ncycles/second=1000\n1 99999999999999999999 @ 0x1\n", ["number out of range"]),
    ("--- heapz 1 ---\nformat = java\nresolution = bytes\n 10 0 @ 0x1\n", ["zero count"]),
])
def test_malformed_files_say_which_format(text, words):
    _refused(text.encode(), *words)


def test_go_heap_page_is_scaled_like_pprof():
    # Go writes 2 * MemProfileRate after "heap/"; pprof divides by P(sampled) = 1 - exp(-avg/rate)
    text = "heap profile: 1: 1000 [2: 3000] @ heap/1024\n1: 1000 [2: 3000] @ 0x1000 0x2000\n"
    p = perfkit.decode_profile(text.encode(), SRC)
    scale_in = 1 / (1 - math.exp(-1000 / 512))
    scale_alloc = 1 / (1 - math.exp(-1500 / 512))
    assert p.values.tolist() == [[int(2 * scale_alloc), int(3000 * scale_alloc), int(scale_in), int(1000 * scale_in)]]
    assert p.period == 512
    # every address moves one byte back onto its call instruction
    assert sorted(int(a) for a in p.loc_address) == [0xFFF, 0x1FFF]
    assert p.labels["num"].tolist() == [1000]


def test_block_page_converts_cycles_to_nanoseconds():
    text = "--- contention:\ncycles/second=2000000000\n4000 3 @ 0x10 0x20\n"
    p = perfkit.decode_profile(text.encode(), SRC)
    assert p.sample_type_names == ["contentions", "delay"]
    assert p.values.tolist() == [[3, 2000]]


def test_cpu_profile_word_sizes_and_byte_orders():
    totals = set()
    for word, order in ((4, "little"), (4, "big"), (8, "little"), (8, "big")):
        p = perfkit.decode_profile(legacygen.cpu_profile(7, word, order, maps=None), SRC)
        assert p.sample_type_names == ["samples", "cpu"] and p.period == 10_000_000
        totals.add((p.total("samples"), p.total("cpu")))
    assert len(totals) == 1


def test_proc_maps_lines():
    maps = parse_maps(["00400000-00452000 r-xp 00000000 08:01 1 /bin/x",
                       "00651000-00652000 rw-p 00051000 08:01 1 /bin/x",           # not executable: skipped
                       "0x1000-0x2000 /lib/y.so (@40) 0123abcd"])
    assert [(m.start, m.limit, m.offset, m.file, m.build_id) for m in maps] == [
        (0x400000, 0x452000, 0, "/bin/x", ""), (0x1000, 0x2000, 0x40, "/lib/y.so", "0123abcd")]


@pytest.mark.parametrize("text,value", [("10", 10), ("0x1f", 31), ("010", 8), ("-3", -3), ("0b11", 3)])
def test_go_int_base_zero(text, value):
    assert go_int(text) == value


def test_empty_text_profile_is_empty():
    with pytest.raises(perfkit.EmptyProfileError):
        perfkit.decode_profile(b"goroutine profile: total 0\n", SRC)
    assert perfkit.decode_profile(b"goroutine profile: total 0\n", SRC, allow_empty=True).is_empty
