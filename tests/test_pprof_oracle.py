"""perfkit's top against `go tool pprof -top` on every file of both Fleet archives."""
from __future__ import annotations

import pytest

import perfkit
from conftest import ARCHIVES, PROFILE_FILES
from gotool import pprof_top

pytestmark = pytest.mark.oracle


def _cases():
    for a in ARCHIVES:
        for f in PROFILE_FILES:
            yield a, f


def _compare(prof, path, sample_index=None, granularity="functions", go_args=(), **filters):
    df = perfkit.top(prof, sample_index, granularity=granularity, filters=perfkit.Filters(**filters))
    unit = prof.unit(sample_index)
    idx = prof.sample_type_names[prof.sample_index(sample_index)]
    flag = {"functions": [], "files": ["-files"], "lines": ["-lines"]}[granularity]
    want, header = pprof_top(path, unit, f"-sample_index={idx}", *flag, *go_args)
    got = {r.name: (int(r.flat), int(r.cum)) for r in df.itertuples()}
    assert got == want, _diff(got, want)
    if "total" in header:
        assert df.attrs["total"] == header["total"]
    return df, want


def _diff(got, want):
    lines = []
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            lines.append(f"{k}: perfkit={got.get(k)} go={want.get(k)}")
    return "\n".join(lines[:20])


@pytest.mark.parametrize("archive,name", list(_cases()))
def test_every_sample_index_matches_go_tool(fleet_dir, go_bin, archive, name):
    path = fleet_dir / archive / name
    prof = perfkit.read_profile(path, allow_empty=True)
    for i, st in enumerate(prof.sample_types):
        df, want = _compare(prof, path, st.type)
        if prof.total(i):
            assert len(df) > 0


@pytest.mark.parametrize("archive", ARCHIVES)
@pytest.mark.parametrize("granularity", ["files", "lines"])
@pytest.mark.parametrize("name,index", [("profile", "cpu"), ("heap", "inuse_space"), ("allocs", "alloc_objects")])
def test_files_and_lines_granularity(fleet_dir, go_bin, archive, granularity, name, index):
    path = fleet_dir / archive / name
    _compare(perfkit.read_profile(path), path, index, granularity)


FILTERS = [
    ({"focus": "crypto/tls"}, ["-focus=crypto/tls"]),
    ({"ignore": "runtime\\."}, ["-ignore=runtime\\."]),
    ({"hide": "runtime\\."}, ["-hide=runtime\\."]),
    ({"show": "net/http|crypto"}, ["-show=net/http|crypto"]),
    ({"focus": "http", "ignore": "syscall"}, ["-focus=http", "-ignore=syscall"]),
    ({"focus": "montgomery", "hide": "math/big\\.(addMul|mulAdd)"},
     ["-focus=montgomery", "-hide=math/big\\.(addMul|mulAdd)"]),
]


@pytest.mark.parametrize("archive", ARCHIVES)
@pytest.mark.parametrize("filters,go_args", FILTERS, ids=[str(f[0]) for f in FILTERS])
def test_filters_match_go_tool(fleet_dir, go_bin, archive, filters, go_args):
    path = fleet_dir / archive / "profile"
    _compare(perfkit.read_profile(path), path, "cpu", "functions", go_args, **filters)


@pytest.mark.parametrize("archive", ARCHIVES)
def test_tagfocus_numeric_range_matches_go_tool(fleet_dir, go_bin, archive):
    path = fleet_dir / archive / "heap"
    prof = perfkit.read_profile(path)
    assert (prof.labels["key"] == "bytes").any(), "heap profiles carry a numeric 'bytes' label"
    df, want = _compare(prof, path, "alloc_space", "functions", ["-tagfocus=bytes=4kb:"],
                        tagfocus="bytes=4kb:")
    assert 0 < len(want) < len(perfkit.top(prof, "alloc_space"))
