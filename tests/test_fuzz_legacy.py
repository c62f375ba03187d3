"""Fuzz the text and legacy profile parsers: whatever the mutation, only perfkit's own exceptions escape.

Bases are the generator's files (tests/legacygen.py: binary CPU in every word size and byte order,
C++ heap/growth/contention/thread, Java) and Go debug=1 pages. Mutations are byte-level (as in
test_fuzz.py) and line-level (lines dropped, repeated, swapped, numbers replaced by extreme values,
headers of other formats spliced in). Each result goes through decode_profile and top, as in test_fuzz.
PERFKIT_FUZZ_LEGACY_EXAMPLES sets the example count per test (default 300).
"""
from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import badinput as B
import legacygen
from test_fuzz import FUZZ, check, frac, mutation_op

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("PERFKIT_FUZZ_LEGACY_EXAMPLES", "300"))

GO_PAGES = {
    "goroutine": "goroutine profile: total 3\n2 @ 0x47e54e 0x4159ee 0x4e13f5 0x484fc1\n"
                 "#\t0x4e13f4\tmain.parked+0x14\t/src/main.go:51\n\n1 @ 0x442dd1 0x47d8fd\n",
    "block": "--- contention:\ncycles/second=2596142858\n987431406 119 @ 0x4e1225 0x4e1224 0x4e19e5\n"
             "#\t0x4e1224\tsync.(*Mutex).Lock+0x64\t/go/src/sync/mutex.go:46\n\n155984036 3 @ 0x415532 0x4e1345\n",
    "mutex": "--- mutex:\ncycles/second=2596142858\nsampling period=1\n988804505 119 @ 0x4e1251 0x4e19e5\n",
    "heap": "heap profile: 2: 4096 [5: 8192] @ heap/1024\n1: 2048 [2: 4096] @ 0x47cc45 0x41e645\n"
            "1: 2048 [3: 4096] @ 0x47cc4c 0x480627\n\n# runtime.MemStats\n# Alloc = 3769264\n",
}


@lru_cache(maxsize=None)
def bases() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as d:
        out = {n: p.read_bytes() for n, p in legacygen.write_all(Path(d)).items()}
    out.update({n: t.encode() for n, t in GO_PAGES.items()})
    return out


HEADERS = ["heap profile: 1: 2 [3: 4] @ heap_v2/0", "--- contentionz 1 ---", "--- threadz 1 ---",
           "--- Memory map: ---", "MAPPED_LIBRARIES:", "--- heapz 1 ---", "format = java", "resolution = bytes",
           "sampling period = 0", "cycles/second = 0", "goroutine profile: total 1",
           "--- Thread 1 (name: x/1) stack: ---", "same as previous thread", "ms since reset = -1",
           "0-ffffffffffffffff r-xp 0 0:0 0 /x", "$x=1", "0x1 (@ff) y"]
NUMBERS = ["0", "-1", "1", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
           "0xffffffffffffffff", "0x10000000000000000", "99999999999999999999", "010", "08"]
_NUMBER = re.compile(r"0x[0-9a-f]+|-?[0-9]+")

line_op = st.one_of(
    st.tuples(st.just("drop"), frac),
    st.tuples(st.just("repeat"), frac),
    st.tuples(st.just("swap"), frac, frac),
    st.tuples(st.just("number"), frac, st.integers(0, 20), st.sampled_from(NUMBERS)),
    st.tuples(st.just("header"), frac, st.sampled_from(HEADERS)),
    st.tuples(st.just("cut"), frac, frac),
)


def _mutate_lines(data: bytes, ops) -> bytes:
    lines = data.split(b"\n")
    for op in ops:
        i = min(int(op[1] * len(lines)), len(lines) - 1)
        if op[0] == "drop" and len(lines) > 1:
            del lines[i]
        elif op[0] == "repeat":
            lines.insert(i, lines[i])
        elif op[0] == "swap":
            j = min(int(op[2] * len(lines)), len(lines) - 1)
            lines[i], lines[j] = lines[j], lines[i]
        elif op[0] == "number":
            text = lines[i].decode("latin-1")
            nums = list(_NUMBER.finditer(text))
            if nums:
                m = nums[op[2] % len(nums)]
                lines[i] = (text[:m.start()] + op[3] + text[m.end():]).encode("latin-1")
        elif op[0] == "header":
            lines.insert(i, op[2].encode())
        elif op[0] == "cut":
            lines[i] = lines[i][:int(op[2] * len(lines[i]))]
    return b"\n".join(lines)


@st.composite
def mutated_legacy(draw):
    name = draw(st.sampled_from(sorted(bases())))
    data = bases()[name]
    binary = name.startswith(("cpu-", "java-cpu"))
    if binary and draw(st.booleans()):
        data = B.mutate(data, draw(st.lists(mutation_op, min_size=1, max_size=3)))
    elif not binary and draw(st.integers(0, 3)):
        data = _mutate_lines(data, draw(st.lists(line_op, min_size=1, max_size=4)))
    else:
        data = B.mutate(data, draw(st.lists(mutation_op, min_size=1, max_size=3)))
    return B.gz(data) if draw(st.integers(0, 4)) == 0 else data


@settings(max_examples=EXAMPLES, **FUZZ)
@given(mutated_legacy())
def test_mutated_legacy_profiles_raise_only_perfkit_errors(data):
    check(data)


@settings(max_examples=EXAMPLES, **FUZZ)
@given(st.lists(st.sampled_from(HEADERS + ["1 @ 0x1", "1: 2 [3: 4] @ 0x1", "5 6 @ 0x2 0x3", "0x1 f (F.java:1)",
                                           "", "#", "  PC: 0x10 0x20"]), max_size=12),
       st.sampled_from(["\n", "\r\n"]))
def test_random_legacy_lines_raise_only_perfkit_errors(lines, eol):
    check(eol.join(lines).encode())
