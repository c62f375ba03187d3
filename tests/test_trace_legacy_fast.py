"""The vectorised pre-1.22 trace decoder against the event loop it replaces (trace_legacy._parse_loop):
the same Trace on real traces, and on damaged ones the same Trace or the same TraceError."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from perfkit.errors import TraceError
from perfkit.formats import trace_legacy as L
from perfkit.formats import trace_legacy_fast as F

FLEET = Path(__file__).resolve().parents[2] / "shared" / "fleet-debug-archives"
TRACES = [p for p in (FLEET / "pprof-normal" / "trace", FLEET / "pprof-bad-cpu" / "trace") if p.exists()]


def _outcome(fn, data):
    try:
        return fn(data)
    except TraceError as e:
        return ("TraceError", str(e))
    except Exception as e:   # noqa: BLE001 - compared, not hidden
        return (type(e).__name__, str(e))


def _same(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
        return
    for f in ("ts", "type", "p", "g", "args", "stack", "frame_pc", "frame_line"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f
    assert list(a.frame_fn) == list(b.frame_fn) and list(a.frame_file) == list(b.frame_file)
    assert a.stack_index == b.stack_index and a.strings == b.strings
    assert a.extra == b.extra and a.ticks_per_sec == b.ticks_per_sec


def _minor(data: bytes) -> int:
    return int(data[5:8].split(b" ")[0])        # "go 1.NN trace"


@pytest.mark.skipif(not TRACES, reason="no Fleet archives in ../shared/fleet-debug-archives")
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.parent.name)
def test_fleet_traces_decode_alike(path, monkeypatch):
    data = path.read_bytes()
    m = _minor(data)
    calls = []
    real = F.decode_events
    monkeypatch.setattr(L, "decode_events", lambda *a: calls.append(1) or real(*a))
    fast = L.parse_legacy(data, "t", m)
    assert calls and real(data, m, L._DESC, L.EV, L._NARGS, L._HAS_STACK, L._STARTS_G, L._ENDS_G,
                          L._G_FROM_ARG, L._LOCAL, L._UNTIMED, L.HEADER_LEN) is not None
    _same(fast, L._parse_loop(data, "t", m))


@pytest.mark.skipif(not TRACES, reason="no Fleet archives in ../shared/fleet-debug-archives")
@pytest.mark.parametrize("seed", range(40))
def test_damaged_traces_fail_or_decode_alike(seed):
    rng = random.Random(seed)
    data = bytearray(TRACES[seed % len(TRACES)].read_bytes())
    m = _minor(bytes(data))
    cut = rng.randrange(16, len(data))
    kind = seed % 4
    if kind == 0:
        data[cut] = rng.randrange(256)
    elif kind == 1:
        del data[cut:]
    elif kind == 2:
        data[cut:cut] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    else:
        del data[cut:cut + rng.randrange(1, 64)]
    data = bytes(data)
    _same(_outcome(lambda d: L.parse_legacy(d, "t", m), data), _outcome(lambda d: L._parse_loop(d, "t", m), data))


def test_chunk_boundaries(monkeypatch):
    """Small chunks: events and jumps cross many chunk ends."""
    if not TRACES:
        pytest.skip("no Fleet archives")
    data = TRACES[0].read_bytes()
    m = _minor(data)
    monkeypatch.setattr(F, "CHUNK", 1000)
    _same(L.parse_legacy(data, "t", m), L._parse_loop(data, "t", m))
