"""Bad trace input raises perfkit.TraceError naming the byte offset and the problem.
The fuzz test mutates a real Fleet trace (a prefix, to bound runtime)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import perfkit
from perfkit.trace import read_trace


@pytest.fixture(scope="module")
def raw(fleet_dir):
    return (fleet_dir / "pprof-normal" / "trace").read_bytes()


def _err(data):
    with pytest.raises(perfkit.TraceError) as e:
        read_trace(data, source="t")
    assert e.value.offset is not None and "byte offset" in str(e.value)
    return e.value


def test_wrong_headers():
    assert _err(b"").offset == 0
    assert "not a Go execution trace" in str(_err(b"hello world, not a trace at all"))
    assert "1.9" in str(_err(b"go 1.9 trace\x00\x00\x00\x00\x01\x02"))


def test_pprof_file_as_trace(fleet_dir):
    e = _err((fleet_dir / "pprof-normal" / "profile").read_bytes())
    assert e.offset == 0


def test_truncated(raw):
    for cut in (17, 100, 5000, len(raw) // 2, len(raw) - 3):
        e = _err(raw[:cut])
        assert 0 <= e.offset <= cut


def test_corrupt_varint(raw):
    # a string record (type 37, id 1) right after the header whose length varint never ends
    bad = raw[:16] + bytes([37]) + b"\x01" + b"\xff" * 12 + raw[16:]
    e = _err(bad)
    assert "varint" in e.problem and e.offset == 18


def test_unknown_event_type(raw):
    bad = raw[:16] + bytes([63]) + raw[17:]
    e = _err(bad)
    assert e.offset == 16 and "unknown event type" in e.problem


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(st.data())
def test_fuzz_mutated_trace(raw, data):
    base = bytearray(raw[:6000])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(16, len(base) - 1))
        op = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if op == "set":
            base[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del base[i:i + data.draw(st.integers(1, 64))]
        else:
            base[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    try:
        read_trace(bytes(base), source="fuzz")
    except perfkit.TraceError as e:
        assert e.offset is not None and 0 <= e.offset <= len(base)
