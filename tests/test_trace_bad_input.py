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


def _mutate_and_read(base: bytearray, data) -> None:
    """Flip, cut or insert bytes past the header; only a TraceError with an offset may escape."""
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


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(st.data())
def test_fuzz_mutated_trace(raw, data):
    _mutate_and_read(bytearray(raw[:6000]), data)


# ---- the 1.22+ format (a tiny trace written by tests/gotrace with the local Go) ----------
@pytest.fixture(scope="module")
def raw_v2(go_bin, tmp_path_factory):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent / "gotrace"))
    import trace_oracle as oracle
    d = tmp_path_factory.mktemp("gotrace_bad")
    return oracle.make_trace(go_bin, d, d / "tiny.trace", "5ms", 1).read_bytes()


def test_v2_parses(raw_v2):
    t = read_trace(raw_v2, source="t")
    assert t.generation == "v2" and t.n_events > 100


def test_v2_wrong_headers(raw_v2):
    assert "1.99" in str(_err(b"go 1.99 trace\x00\x00\x00" + raw_v2[16:]))
    # a 1.22+ body under a pre-1.22 header is not a valid legacy trace
    assert _err(b"go 1.21 trace\x00\x00\x00" + raw_v2[16:]).offset >= 16
    assert _err(raw_v2[:10]).offset == 0


def test_v2_truncated(raw_v2):
    for cut in (16, 17, 30, 1000, len(raw_v2) // 2, len(raw_v2) - 1):
        e = _err(raw_v2[:cut])
        assert 0 <= e.offset <= cut, (cut, e)


def test_v2_corrupt_varint(raw_v2):
    # the first batch header's generation varint never ends
    bad = raw_v2[:17] + b"\xff" * 12 + raw_v2[18:]
    e = _err(bad)
    assert "varint" in e.problem and e.offset == 17
    # a batch whose last varint is unterminated
    t_bad = bytearray(raw_v2)
    import perfkit.formats.trace_go122 as v2
    # find the first event batch: header byte 1, skip 4 varints, flip the last data byte's top bit
    off = 16
    r = v2._Reader(bytes(t_bad), "t", 26)
    _, p = r.read_uvarint(off + 1, len(t_bad))
    _, p = r.read_uvarint(p, len(t_bad))
    _, p = r.read_uvarint(p, len(t_bad))
    size, p = r.read_uvarint(p, len(t_bad))
    t_bad[p + size - 1] |= 0x80
    e = _err(bytes(t_bad))
    assert p <= e.offset < p + size and ("varint" in e.problem or "batch" in e.problem)


def test_v2_unknown_event_type(raw_v2):
    import perfkit.formats.trace_go122 as v2
    r = v2._Reader(raw_v2, "t", 26)
    off = 16
    while True:   # walk batches to the first M event batch
        if raw_v2[off] == v2.EV["EndOfGeneration"]:
            off += 1
            continue
        _, p = r.read_uvarint(off + 1, len(raw_v2))
        for _ in range(2):
            _, p = r.read_uvarint(p, len(raw_v2))
        size, p = r.read_uvarint(p, len(raw_v2))
        if size and raw_v2[p] not in (v2.EV["Strings"], v2.EV["Stacks"], v2.EV["Sync"], v2.EV["CPUSamples"]):
            break
        off = p + size
    bad = bytearray(raw_v2)
    bad[p] = 0x7E
    e = _err(bytes(bad))
    assert e.offset == p and "unknown event type" in e.problem


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(st.data())
def test_fuzz_mutated_v2_trace(raw_v2, data):
    _mutate_and_read(bytearray(raw_v2), data)
