"""The Profile model's DataFrame views and raw message, on real Fleet profiles."""
from __future__ import annotations

import gzip

import pytest

import perfkit
from perfkit.proto import profile_pb2


@pytest.fixture(scope="module")
def heap(fleet_dir):
    return perfkit.read_profile(fleet_dir / "pprof-normal" / "heap")


@pytest.fixture(scope="module")
def raw_heap(fleet_dir):
    m = profile_pb2.Profile()
    m.ParseFromString(gzip.decompress((fleet_dir / "pprof-normal" / "heap").read_bytes()))
    return m


def test_header_fields_match_the_message(heap, raw_heap):
    st = raw_heap.string_table
    assert [str(t) for t in heap.sample_types] == [f"{st[t.type]}/{st[t.unit]}" for t in raw_heap.sample_type]
    assert heap.period == raw_heap.period and heap.time_nanos == raw_heap.time_nanos
    assert str(heap.period_type) == f"{st[raw_heap.period_type.type]}/{st[raw_heap.period_type.unit]}"
    assert heap.default_sample_type == st[raw_heap.default_sample_type]
    assert heap.sample_index(None) == len(heap.sample_types) - 1 if not heap.default_sample_type else True


def test_samples_frame_matches_message(heap, raw_heap):
    df = heap.samples
    assert len(df) == len(raw_heap.sample)
    for i, t in enumerate(heap.sample_types):
        assert df[t.type].sum() == sum(s.value[i] for s in raw_heap.sample)
    assert (df["depth"].to_numpy() == [len(s.location_id) for s in raw_heap.sample]).all()


def test_locations_keep_inlined_lines_leaf_first(heap, raw_heap):
    loc = heap.locations
    assert len(loc) == sum(max(len(l.line), 0) for l in raw_heap.location)
    fn_name = {f.id: raw_heap.string_table[f.name] for f in raw_heap.function}
    for l in raw_heap.location[:200]:
        rows = loc[loc.location_id == l.id]
        assert list(rows["function"]) == [fn_name[ln.function_id] for ln in l.line]
        assert list(rows["line"]) == [ln.line for ln in l.line]
        assert list(rows["inlined"]) == [i < len(l.line) - 1 for i in range(len(l.line))]
    assert loc["inlined"].any()


def test_labels_are_numeric_with_units(heap, raw_heap):
    lab = heap.labels
    n = sum(len(s.label) for s in raw_heap.sample)
    assert len(lab) == n and n > 0
    assert set(lab["key"]) == {"bytes"}
    first = next(s for s in raw_heap.sample if s.label)
    assert lab.iloc[0]["num"] == first.label[0].num


def test_functions_and_stacks(heap, raw_heap):
    f = heap.functions
    assert len(f) == len(raw_heap.function)
    assert set(f["name"]) == {raw_heap.string_table[x.name] for x in raw_heap.function}
    sf = heap.stack_frames
    assert sf.groupby("stack_id")["depth"].min().eq(0).all()
    assert heap.stacks.n <= heap.n_samples


def test_encoded_message_keeps_every_sample(heap, raw_heap):
    from perfkit.formats.pprof import encode_message
    m = encode_message(heap)
    assert len(m.sample) == len(raw_heap.sample) and len(m.function) == len(raw_heap.function)
    assert sorted(tuple(s.value) for s in m.sample) == sorted(tuple(s.value) for s in raw_heap.sample)
    derived = perfkit.apply_filters(heap, perfkit.Filters(focus="json"))
    assert len(encode_message(derived).sample) == derived.n_samples < heap.n_samples


def test_sample_index_errors(heap):
    with pytest.raises(perfkit.OptionError, match="inuse_space"):
        heap.sample_index("inuse")
    assert heap.sample_index(0) == 0 and heap.sample_index("3") == 3
    with pytest.raises(perfkit.OptionError, match="out of range"):
        heap.sample_index(9)
