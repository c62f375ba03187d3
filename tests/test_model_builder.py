"""perfkit.model.builder.ProfileBuilder: a derived profile built from stacks and values.

Expected figures are worked out by hand from the three samples below; the oracle test
reads the written file back with `go tool pprof`."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

import perfkit
from perfkit.formats.pprof import decode_profile, encode_profile, write_profile
from perfkit.model.builder import ProfileBuilder

MAIN = ("main.main", "/src/main.go", 3, 0x2000)
WAIT12 = ("main.wait", "/src/main.go", 12, 0x1000)
WAIT14 = ("main.wait", "/src/main.go", 14, 0x1010)
LOCK = ("sync.(*Mutex).Lock", "/go/src/sync/mutex.go", 80)       # no address
MAIN5 = ("main.main", "/src/main.go", 5)


def build():
    b = ProfileBuilder([("contentions", "count"), ("delay", "nanoseconds")], period_type=("trace", "count"),
                       period=1, duration_nanos=2_000_000_000, source="hand [net]")
    b.add_sample([WAIT12, MAIN], [1, 250])
    b.add_sample([WAIT14, MAIN], [2, 1000], labels={"kind": "net", "fd": 7})
    b.add_sample([LOCK, MAIN5], [3, 4000])
    return b.build()


def test_tables_deduplicate_functions_and_frames():
    p = build()
    assert p.n_samples == 3 and p.source == "hand [net]"
    # functions by (name, file): main.main, main.wait, sync.(*Mutex).Lock
    assert sorted(p.fn_name.tolist()) == ["main.main", "main.wait", "sync.(*Mutex).Lock"]
    # locations by frame: WAIT12, MAIN, WAIT14, LOCK, MAIN5
    assert p.n_locations == 5
    assert sorted(p.loc_address.tolist()) == [0, 0, 0x1000, 0x1010, 0x2000]
    assert p.values.tolist() == [[1, 250], [2, 1000], [3, 4000]]
    assert p.total("contentions") == 6 and p.total("delay") == 5250
    assert p.sample_index() == 1            # pprof's default: the last sample type
    assert p.duration_seconds == 2.0 and str(p.period_type) == "trace/count" and p.period == 1


def test_views_see_the_stacks():
    p = build()
    t = perfkit.top(p, "delay").set_index("name")
    assert t.loc["main.main", "cum"] == 5250 and t.loc["main.main", "flat"] == 0
    assert t.loc["main.wait", "flat"] == 1250 and t.loc["sync.(*Mutex).Lock", "flat"] == 4000
    lines = p.locations.set_index(["function", "line"])
    assert {("main.wait", 12), ("main.wait", 14), ("main.main", 3), ("main.main", 5)} <= set(lines.index)


def test_round_trip_through_profile_proto():
    p = build()
    q = decode_profile(encode_profile(p), source="rt")
    assert q.values.tolist() == p.values.tolist()
    names = [q.fn_name[q.line_function[q.loc_line_start[i]]] for i in q.stack_locs]
    assert names == ["main.wait", "main.main", "main.wait", "main.main", "sync.(*Mutex).Lock", "main.main"]
    assert np.array_equal(q.stack_offsets, p.stack_offsets)
    assert q.line_number[q.loc_line_start[q.stack_locs]].tolist() == [12, 3, 14, 3, 80, 5]
    lab = q.labels.sort_values("key")
    assert lab[["sample", "key", "str", "num"]].values.tolist() == [[1, "fd", "", 7], [1, "kind", "net", 0]]
    assert q.duration_nanos == 2_000_000_000 and q.period_type == p.period_type


def test_empty_builder_gives_an_empty_profile():
    b = ProfileBuilder([("samples", "count")])
    p = b.build()
    assert p.is_empty and p.values.shape == (0, 1) and p.n_locations == 0
    q = decode_profile(encode_profile(p), allow_empty=True)
    assert q.is_empty and q.sample_type_names == ["samples"]


def test_bad_samples_raise_option_errors():
    with pytest.raises(perfkit.OptionError, match="at least one sample type"):
        ProfileBuilder([])
    b = ProfileBuilder([("a", "count"), ("b", "count")], source="s")
    with pytest.raises(perfkit.OptionError, match="2 sample types"):
        b.add_sample([MAIN], [1])
    with pytest.raises(perfkit.OptionError, match="function, file, line"):
        b.add_sample([("main.main", "/src/main.go")], [1, 2])


@pytest.mark.oracle
def test_go_pprof_reads_the_written_profile(tmp_path, go_bin):
    out = write_profile(build(), tmp_path / "b.pb.gz")
    r = subprocess.run([go_bin, "tool", "pprof", "-top", "-lines", "-sample_index=contentions", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    flat = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[0].isdigit():
            flat[f"{parts[5]} {parts[6]}"] = int(parts[0])
    assert flat == {"sync.(*Mutex).Lock /go/src/sync/mutex.go:80": 3, "main.wait /src/main.go:14": 2,
                    "main.wait /src/main.go:12": 1, "main.main /src/main.go:3": 0,
                    "main.main /src/main.go:5": 0}
