"""The text and legacy profile formats against `go tool pprof -top`, every sample index, per function and
per address.

Go's debug=1 pages come from a running Go program (tests/gotext); the gperftools, C++ and Java files
from tests/legacygen.py. Every file is also read gzip-compressed and through load_archive.
"""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

import legacygen
import perfkit
from conftest import ROOT
from gotool import pprof_top
from perfkit.formats.legacy_text import memstats

pytestmark = pytest.mark.oracle

GO_PAGES = ("heap", "allocs", "block", "mutex", "goroutine", "threadcreate")


@pytest.fixture(scope="module", autouse=True)
def no_local_binaries(tmp_path_factory):
    """pprof looks for binaries in $PPROF_BINARY_PATH: point it at an empty folder."""
    old = os.environ.get("PPROF_BINARY_PATH")
    os.environ["PPROF_BINARY_PATH"] = str(tmp_path_factory.mktemp("no-binaries"))
    yield
    if old is None:
        os.environ.pop("PPROF_BINARY_PATH", None)
    else:
        os.environ["PPROF_BINARY_PATH"] = old


@pytest.fixture(scope="module")
def go_pages(go_bin, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gotext")
    subprocess.run([go_bin, "run", ".", "-o", str(out)], cwd=ROOT / "tests" / "gotext", check=True,
                   capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def legacy_files(tmp_path_factory) -> dict[str, Path]:
    return legacygen.write_all(tmp_path_factory.mktemp("legacy"))


def _names() -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        return list(legacygen.write_all(Path(d)))


LEGACY = _names()           # the generator's variants, by name


def compare_with_go(path: Path, prof: perfkit.Profile | None = None) -> int:
    """Assert flat and cum equal go tool pprof's for every sample index, per function and per address.
    Returns the number of rows compared."""
    prof = prof if prof is not None else perfkit.read_profile(path, allow_empty=True)
    rows = 0
    for st in prof.sample_types:
        for granularity, flags in (("functions", []), ("addresses", ["-addresses"])):
            want, header = pprof_top(path, st.unit, f"-sample_index={st.type}", *flags)
            df = perfkit.top(prof, st.type, granularity=granularity)
            got = {r.name: (int(r.flat), int(r.cum)) for r in df.itertuples()}
            bad = [f"{k}: perfkit={got.get(k)} go={want.get(k)}" for k in sorted(set(got) | set(want))
                   if got.get(k) != want.get(k)]
            assert not bad, f"{path.name} {st.type} {granularity}:\n" + "\n".join(bad[:20])
            if "total" in header:
                assert df.attrs["total"] == header["total"]
            rows += len(want)
    return rows


@pytest.mark.parametrize("name", GO_PAGES)
def test_go_debug1_pages_match_go_tool(go_pages, name):
    path = go_pages / name
    prof = perfkit.read_profile(path)
    assert compare_with_go(path, prof) >= len(prof.sample_types) * 2
    assert prof.n_functions == 0 and len(prof.mappings) == 1     # addresses only, pprof's one fake mapping


def test_go_page_sample_types(go_pages):
    read = {n: perfkit.read_profile(go_pages / n) for n in GO_PAGES}
    assert read["heap"].sample_type_names == ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
    assert read["heap"].period_type == perfkit.ValueType("space", "bytes")
    assert read["block"].sample_type_names == ["contentions", "delay"]
    assert read["block"].unit("delay") == "nanoseconds"
    assert read["goroutine"].sample_type_names == ["goroutine"]
    assert read["goroutine"].total() >= 6                          # 5 parked + the writer
    assert read["threadcreate"].sample_type_names == ["threadcreate"]
    assert (read["heap"].labels["key"] == "bytes").all()


def test_heap_memstats_trailer_is_kept(go_pages):
    prof = perfkit.read_profile(go_pages / "heap")
    assert prof.comments[0] == "runtime.MemStats"
    ms = memstats(prof).set_index("name")["value"]
    assert int(ms["HeapAlloc"]) > 0 and int(ms["NumGC"]) >= 1
    assert memstats(perfkit.read_profile(go_pages / "block")).empty


def test_goroutine_debug2_is_refused_with_advice(go_pages):
    with pytest.raises(perfkit.ProfileError, match="goroutine dump.*debug=1"):
        perfkit.read_profile(go_pages / "goroutine-debug2")


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_files_match_go_tool(legacy_files, name):
    path = legacy_files[name]
    prof = perfkit.read_profile(path)
    assert compare_with_go(path, prof) > len(prof.sample_types) * 2


@pytest.mark.parametrize("name", ["heap", "block"])
def test_gzipped_text_profile_matches_go_tool(go_pages, tmp_path, name):
    path = tmp_path / f"{name}.gz"
    path.write_bytes(gzip.compress((go_pages / name).read_bytes()))
    compare_with_go(path)


def test_legacy_mappings_and_build_ids(legacy_files):
    prof = perfkit.read_profile(legacy_files["cpu-64le-dupleaf"])
    m = prof.mappings
    assert m["file"].iloc[0] == legacygen.MAIN and m["build_id"].iloc[0] == "abcdef0123456789"
    top = perfkit.top(prof, granularity="addresses")
    assert top["name"].str.match(r"^[0-9a-f]{16} (\[server\]|\[libc\.so\.6\]|<unknown>)$").all()


@pytest.mark.parametrize("packed", [False, True])
def test_load_archive_reads_debug1_pages(go_pages, tmp_path, packed):
    d = tmp_path / "archive"
    d.mkdir()
    for n in GO_PAGES:
        shutil.copy(go_pages / n, d / n)
    shutil.copy(go_pages / "heap", d / "allocs.txt")          # a suffix is fine too
    (d / "allocs").unlink()
    src = d
    if packed:
        src = tmp_path / "archive.tar.gz"
        with tarfile.open(src, "w:gz") as tf:
            tf.add(d, arcname="debug")
    arch = perfkit.load_archive(src, strict=True)
    assert set(arch.profiles) == set(GO_PAGES)
    for n in GO_PAGES:
        one = perfkit.read_profile(go_pages / (n if n != "allocs" else "heap"), allow_empty=True)
        assert [arch[n].total(i) for i in range(len(one.sample_types))] == \
               [one.total(i) for i in range(len(one.sample_types))]
