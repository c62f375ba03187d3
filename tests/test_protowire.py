"""The numpy Sample decoder (formats.protowire) against the protobuf runtime's decode."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from perfkit.errors import ProfileError
from perfkit.formats import pprof
from perfkit.model.profile import hash_stacks
from perfkit.proto import profile_pb2

FLEET = Path(__file__).resolve().parents[2] / "shared" / "fleet-debug-archives"
FLEET_FILES = sorted(p for a in ("pprof-normal", "pprof-bad-cpu") for p in (FLEET / a).glob("*")
                     if p.name in ("allocs", "block", "heap", "mutex", "profile", "goroutine", "threadcreate"))


def _slow(monkeypatch, data: bytes):
    with monkeypatch.context() as m:
        m.setattr(pprof, "_decode_fast", lambda box, source: None)
        return pprof.decode_profile(data, "x", allow_empty=True)


def _same(a, b):
    for f in ("values", "stack_offsets", "stack_locs", "loc_id", "line_function", "fn_name"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f
    assert a.labels.reset_index(drop=True).equals(b.labels.reset_index(drop=True))
    assert a.sample_types == b.sample_types and a.period == b.period


@pytest.mark.skipif(not FLEET_FILES, reason="no Fleet archives in ../shared/fleet-debug-archives")
@pytest.mark.parametrize("path", FLEET_FILES, ids=lambda p: f"{p.parent.name}-{p.name}")
def test_fleet_profiles_decode_alike(path, monkeypatch):
    data = path.read_bytes()
    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    calls = []
    real = pprof.decode_samples
    monkeypatch.setattr(pprof, "decode_samples", lambda *a: calls.append(1) or real(*a))
    fast = pprof.decode_profile(data, "x", allow_empty=True)
    monkeypatch.undo()
    if raw[:1] in (b"\x0a",):                # profile.proto: the fast path must have been taken
        assert calls
    _same(fast, _slow(monkeypatch, data))


def _message(packed: bool, labels: bool) -> bytes:
    m = profile_pb2.Profile(string_table=["", "samples", "count", "cpu", "nanoseconds", "f", "k", "v"])
    m.sample_type.add(type=1, unit=2)
    m.sample_type.add(type=3, unit=4)
    m.function.add(id=7, name=5)
    for i in range(1, 40):
        m.location.add(id=1000 * i, line=[profile_pb2.Line(function_id=7, line=i)])
    rng = np.random.default_rng(1)
    for s in range(300):
        depth = int(rng.integers(1, 30)) if packed else int(rng.integers(1, 3))
        ids = [1000 * int(x) for x in rng.integers(1, 40, depth)]
        smp = m.sample.add(location_id=ids, value=[int(rng.integers(-5, 5)), -(2 ** 62) + s])
        if labels and s % 3 == 0:
            smp.label.add(key=6, str=7)
            smp.label.add(key=6, num=-3, num_unit=4)
    return m.SerializeToString()


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("labels", [True, False])
def test_synthetic_encodings_decode_alike(packed, labels, monkeypatch):
    data = _message(packed, labels)
    fast = pprof.decode_profile(data, "x")
    _same(fast, _slow(monkeypatch, data))
    if labels:
        assert len(fast.labels) == 200


def test_unpacked_and_mixed_fields():
    # hand-written Sample: location ids unpacked then packed, values unpacked, an unknown field 9
    def varint(x):
        out = bytearray()
        while True:
            b, x = x & 0x7F, x >> 7
            out.append(b | (0x80 if x else 0))
            if not x:
                return bytes(out)
    body = (b"\x08" + varint(2) + b"\x0a\x02" + varint(1) + varint(3) + b"\x48\x05"
            + b"\x10" + varint(11))
    m = profile_pb2.Profile(string_table=["", "samples", "count"])
    m.sample_type.add(type=1, unit=2)
    for i in (1, 2, 3):
        m.location.add(id=i)
    data = m.SerializeToString() + b"\x12" + varint(len(body)) + body
    p = pprof.decode_profile(data, "x")
    assert p.stack_locs.tolist() == [1, 0, 2] and p.values.tolist() == [[11]]


@pytest.mark.parametrize("body", [b"\x0a\x05\x01", b"\x08", b"\x0b\x01", b"\x08\x81", b"\x10\x01\x10\x02"])
def test_broken_samples_raise_profile_error(body):
    m = profile_pb2.Profile(string_table=["", "samples", "count"])
    m.sample_type.add(type=1, unit=2)
    m.location.add(id=1)
    data = m.SerializeToString() + b"\x12" + bytes([len(body)]) + body
    with pytest.raises(ProfileError) as e:
        pprof.decode_profile(data, "bad.pb")
    assert "bad.pb" in str(e.value)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_chunks_decoded_side_by_side_keep_sample_order(threads, monkeypatch):
    # 300-byte chunks: dozens of chunks decoded by a thread pool, joined back in sample order
    from perfkit.formats import protowire
    data = _message(True, True)
    with monkeypatch.context() as m:
        m.setattr(protowire, "CHUNK_BYTES", 300)
        m.setattr(protowire, "DECODE_THREADS", threads)
        got = []
        real = pprof.decode_samples
        m.setattr(pprof, "decode_samples", lambda *a: got.append(real(*a)) or got[-1])
        fast = pprof.decode_profile(data, "x")
        assert got and got[0] is not None            # the fast path decoded it, in many chunks
        slow = _slow(monkeypatch, data)
        _same(fast, slow)
        # the per-sample stack hashes made on the decoding threads, chunk by chunk, are those of one pass
        # over the decoded stacks, and group the samples as the runtime-decoded profile does
        assert slow.sample_hashes is None and fast.sample_hashes is not None
        whole = hash_stacks(fast.stack_offsets, fast.stack_locs)
        assert all(np.array_equal(x, y) for x, y in zip(fast.sample_hashes, whole))
        assert np.array_equal(fast.stacks.sample_stack, slow.stacks.sample_stack)
        assert np.array_equal(fast.stacks.locs, slow.stacks.locs)
        # a broken sample in a late chunk still falls back to the runtime, which names the file
        bad = data + b"\x12\x02\x08\x81"
        with pytest.raises(ProfileError, match="bad.pb"):
            pprof.decode_profile(bad, "bad.pb")


def _encode_varints(nums) -> bytearray:
    raw = bytearray()
    for x in nums:
        while True:
            raw.append((x & 0x7F) | (0x80 if x > 0x7F else 0))
            x >>= 7
            if not x:
                break
    return raw


def _read_one_by_one(raw: bytes) -> list[int]:
    """The scalar reader's values, varint after varint."""
    from perfkit.formats.protowire import uvarint
    pos, want = 0, []
    while pos < len(raw):
        v, pos = uvarint(raw, pos)
        want.append(v)
    return want


def test_varints_match_the_scalar_reader_and_refuse_overflow():
    # the one vectorised reader behind the profile and the pre-1.22 trace decoders, against uvarint
    from perfkit.formats.protowire import varints
    rng = np.random.default_rng(7)
    nums = [0, 1, 127, 128, 2**32 - 1, 2**32, 2**63, 2**64 - 1] + [int(x) >> int(s) for x, s in
                                                                   zip(rng.integers(0, 2**63, 500), rng.integers(0, 63, 500))]
    raw = _encode_varints(nums)
    starts, vals = varints(np.frombuffer(bytes(raw), np.uint8))
    want = _read_one_by_one(bytes(raw))
    assert [int(v) for v in vals] == want == nums and len(starts) == len(nums)
    assert varints(np.frombuffer(b"\xff" * 9 + b"\x02", np.uint8)) is None      # past 64 bits
    assert varints(np.frombuffer(b"\xff" * 10 + b"\x01", np.uint8)) is None     # 11 bytes
    assert varints(np.frombuffer(b"\x05\x80", np.uint8)) is None                # ends inside a varint


def test_varints_of_at_most_four_bytes_read_as_words():
    # below 2**28 every varint fits 4 bytes: the word path (uint32), against uvarint, with each width's edges
    # and over-long encodings of small values (0 in 2 bytes is valid protobuf)
    from perfkit.formats.protowire import varints
    edges = [0, 1, 2**7 - 1, 2**7, 2**14 - 1, 2**14, 2**21 - 1, 2**21, 2**28 - 1]
    rng = np.random.default_rng(11)
    nums = edges + [int(x) >> int(s) for x, s in zip(rng.integers(0, 2**28, 2000), rng.integers(0, 28, 2000))]
    raw = _encode_varints(nums)
    raw += b"\x80\x00\x81\x80\x00"              # 0 in 2 bytes, 1 in 3 bytes
    starts, vals = varints(np.frombuffer(bytes(raw), np.uint8))
    want = _read_one_by_one(bytes(raw))
    assert vals.dtype == np.uint32
    assert [int(v) for v in vals] == want == nums + [0, 1]
    assert starts[-1] == len(raw) - 3


def test_derived_stacks_drop_the_decoders_hashes():
    p = pprof.decode_profile(_message(True, False), "x")
    assert p.sample_hashes is not None
    same_stacks = p.derive(period=p.period + 1)
    assert same_stacks.sample_hashes is p.sample_hashes
    fewer = p.derive(values=p.values[:1], stack_offsets=p.stack_offsets[:2], stack_locs=p.stack_locs)
    assert fewer.sample_hashes is None and fewer.stacks.n == 1


def test_unique_stacks_survive_a_collision_of_the_first_hash():
    # every sample's first hash equal: the second hash and the length must still tell the stacks apart
    p = pprof.decode_profile(_message(True, False), "x")
    h1, h2 = p.sample_hashes
    q = p.derive(sample_hashes=(np.zeros_like(h1), h2))
    a, b = p.stacks, q.stacks
    assert a.n == b.n > 100
    assert np.array_equal(a.sample_stack, b.sample_stack) and np.array_equal(a.locs, b.locs)
    for i in (0, 17, 299):                       # each sample's unique stack holds its own locations
        s = int(b.sample_stack[i])
        assert np.array_equal(b.locs[b.offsets[s]:b.offsets[s + 1]],
                              p.stack_locs[p.stack_offsets[i]:p.stack_offsets[i + 1]])
