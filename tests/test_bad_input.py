"""Bad input gives a perfkit exception that names the file and the problem.

Every bad file is written into pytest's tmp_path; the Fleet archives are only
read (through conftest.FLEET). Archive tests also check that loading never
writes anything: not next to the archive, not in the working directory.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import tarfile
import zlib
from pathlib import Path

import pytest

import badinput as B
import conftest
import perfkit
from perfkit.formats import pprof as pprof_source


def _raises(exc_type, fn, *args, **kwargs):
    """Call fn; it must raise exc_type (exactly that class or a subclass). Returns the exception."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    e = info.value
    assert isinstance(e, perfkit.PerfkitError)
    assert str(e) == f"{e.source}: {e.problem}"
    return e


def _says(e: Exception, *words: str) -> None:
    """str(e) contains each word (case-insensitive)."""
    text = str(e)
    for w in words:
        assert w.lower() in text.lower(), f"{w!r} not in {text!r}"


# -- single files ----------------------------------------------------------------

@pytest.fixture
def cpu_raw(fleet_dir) -> bytes:
    return B.fleet_raw("pprof-normal", "profile")


def test_truncated_gzip(tmp_path, cpu_raw):
    path = B.write(tmp_path / "cut.pb.gz", B.truncated_gzip(cpu_raw, 0.5))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    assert type(e) is perfkit.ProfileError
    assert e.source == str(path)
    _says(e, str(path), "truncated gzip")


def test_gzip_cut_inside_header(tmp_path):
    path = B.write(tmp_path / "header-only.gz", B.GZIP_MAGIC + b"\x08\x00")
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "gzip")


def test_gzip_with_corrupt_deflate_data(tmp_path, cpu_raw):
    z = bytearray(B.gz(cpu_raw))
    for i in range(20, 60):
        z[i] ^= 0xFF
    path = B.write(tmp_path / "corrupt.pb.gz", bytes(z))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "gzip")


def test_gzip_with_bad_crc(tmp_path, cpu_raw):
    z = bytearray(B.gz(cpu_raw))
    z[-8] ^= 0x01                          # CRC32 of the trailer
    path = B.write(tmp_path / "crc.pb.gz", bytes(z))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "gzip")


def test_random_bytes(tmp_path):
    path = B.write(tmp_path / "random.bin", random.Random(0).randbytes(4096))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "not a profile.proto")


def test_gzip_of_random_bytes(tmp_path):
    path = B.write(tmp_path / "random.bin.gz", B.gz(random.Random(1).randbytes(4096)))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "not a profile.proto")


def test_json_file(tmp_path):
    path = B.write(tmp_path / "profile.json", json.dumps({"samples": [{"value": 1, "stack": ["main"]}]}))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "not a profile.proto")


def test_text_file(tmp_path):
    # what /debug/pprof/goroutine?debug=1 returns: read like go tool pprof (tests/test_legacy_oracle.py)
    text = ("goroutine profile: total 2\n2 @ 0x43a1b6 0x4091a5\n"
            "#\t0x43a1b5\truntime.gopark+0xd5\t/usr/local/go/src/runtime/proc.go:363\n")
    assert perfkit.read_profile(B.write(tmp_path / "goroutine.txt", text)).total() == 2
    # text in no profile format is refused, naming what it looks like
    path = B.write(tmp_path / "notes.txt", "hello\nthis is not a profile\n")
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "not a profile.proto", "text in no known profile format")


def test_empty_file(tmp_path):
    path = B.write(tmp_path / "empty.pb.gz", b"")
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    assert not isinstance(e, perfkit.EmptyProfileError)   # not a profile at all, not "no samples"
    _says(e, str(path), "empty file")


def test_gzip_of_nothing(tmp_path):
    path = B.write(tmp_path / "nothing.pb.gz", B.gz(b""))
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "no data")


def test_empty_bytes_without_a_source():
    e = _raises(perfkit.ProfileError, perfkit.decode_profile, b"")
    assert e.source == "<bytes>"
    _says(e, "empty")


def test_not_bytes():
    e = _raises(perfkit.ProfileError, perfkit.decode_profile, "a str", source="input.txt")
    _says(e, "input.txt", "expected bytes")


def test_profile_with_zero_samples(tmp_path, fleet_dir):
    path = fleet_dir / "pprof-normal" / "block"
    e = _raises(perfkit.EmptyProfileError, perfkit.read_profile, path)
    _says(e, str(path), "zero samples")
    # and the same bytes from anywhere else
    copy = B.write(tmp_path / "block.pb.gz", path.read_bytes())
    e = _raises(perfkit.EmptyProfileError, perfkit.read_profile, copy)
    _says(e, str(copy), "zero samples")
    assert perfkit.read_profile(copy, allow_empty=True).is_empty


def test_profile_with_zero_samples_built_from_a_real_one(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    del m.sample[:]
    path = B.write(tmp_path / "nosamples.pb.gz", B.gz(m.SerializeToString()))
    e = _raises(perfkit.EmptyProfileError, perfkit.read_profile, path)
    _says(e, str(path), "zero samples")


def test_nonexistent_path(tmp_path):
    path = tmp_path / "no" / "such" / "profile.pb.gz"
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "no such file")
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "no such file")


def test_directory_passed_to_read_profile(tmp_path):
    e = _raises(perfkit.ProfileError, perfkit.read_profile, tmp_path)
    _says(e, str(tmp_path), "is a directory", "load_archive")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read a mode-000 file")
def test_unreadable_file(tmp_path, cpu_raw):
    path = B.write(tmp_path / "secret.pb.gz", B.gz(cpu_raw))
    path.chmod(0)
    try:
        e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
        _says(e, str(path), "cannot read", "permission")
    finally:
        path.chmod(0o600)


def test_symlink_loop_passed_to_read_profile(tmp_path):
    a, b = tmp_path / "a.pb.gz", tmp_path / "b.pb.gz"
    a.symlink_to(b)
    b.symlink_to(a)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, a)
    _says(e, str(a), "symlink loop")
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, a)
    _says(e, str(a), "symlink loop")


# -- inconsistent profile.proto content (real profiles, one field broken) ---------

def _write_message(tmp_path: Path, name: str, m) -> Path:
    return B.write(tmp_path / name, B.gz(m.SerializeToString()))


def test_out_of_range_string_index(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    bad = len(m.string_table) + 5
    m.function[3].name = bad
    path = _write_message(tmp_path, "badstring.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "function name", f"string {bad}", f"{len(m.string_table)} entries")


def test_negative_string_index(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    m.sample_type[0].unit = -1
    path = _write_message(tmp_path, "negstring.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "sample_type unit", "string -1")


def test_string_table_not_starting_with_empty_string(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    m.string_table[0] = "oops"
    path = _write_message(tmp_path, "table0.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "string_table[0]")


def test_location_with_unknown_function_id(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    bad = max(f.id for f in m.function) + 1000
    m.location[2].line[0].function_id = bad
    path = _write_message(tmp_path, "badfn.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    assert e.source == str(path)
    _says(e, str(path), f"unknown function id {bad}")


def test_location_with_unknown_mapping_id(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    m.location[0].mapping_id = 777
    path = _write_message(tmp_path, "badmap.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    assert e.source == str(path)
    _says(e, str(path), "unknown mapping id 777")


def test_sample_with_unknown_location_id(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    bad = max(loc.id for loc in m.location) + 1
    m.sample[0].location_id[1] = bad
    path = _write_message(tmp_path, "badloc.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    assert e.source == str(path)
    _says(e, str(path), f"unknown location id {bad}")


def test_sample_with_location_id_zero(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    m.sample[0].location_id[0] = 0
    path = _write_message(tmp_path, "loc0.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "unknown location id 0")


@pytest.mark.parametrize("n_values", [0, 2, 5])
def test_sample_with_wrong_number_of_values(tmp_path, fleet_dir, n_values):
    m = B.fleet_message("pprof-normal", "goroutine")      # one sample type: goroutine/count
    del m.sample[4].value[:]
    m.sample[4].value.extend(range(1, n_values + 1))
    path = _write_message(tmp_path, "values.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), f"sample 4 has {n_values} values", "1 sample types")


@pytest.mark.parametrize("table", ["function", "location", "mapping"])
def test_duplicate_and_zero_ids(tmp_path, fleet_dir, table):
    m = B.fleet_message("pprof-normal", "heap")
    rows = getattr(m, table)
    rows.add().CopyFrom(rows[0])
    path = _write_message(tmp_path, f"dup-{table}.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), f"duplicate {table} id {rows[0].id}")
    rows[-1].id = 0
    path = _write_message(tmp_path, f"zero-{table}.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), f"{table} has id 0")


def test_no_sample_types(tmp_path, fleet_dir):
    m = B.fleet_message("pprof-normal", "goroutine")
    del m.sample_type[:]
    path = _write_message(tmp_path, "notypes.pb.gz", m)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "no sample types")


def test_concatenated_gzip_members_are_bounded(tmp_path, cpu_raw, monkeypatch):
    """Every member of a multi-member gzip counts towards the decompression limit."""
    half = len(cpu_raw) // 2
    data = B.gz(cpu_raw[:half]) + B.gz(cpu_raw[half:])
    assert perfkit.decode_profile(data, source="two-members").n_samples > 0
    monkeypatch.setattr(pprof_source, "MAX_DECOMPRESSED", half + 10)
    path = B.write(tmp_path / "bomb.pb.gz", data)
    e = _raises(perfkit.ProfileError, perfkit.read_profile, path)
    _says(e, str(path), "gzip stream expands beyond")


# -- archives: directories --------------------------------------------------------

def test_empty_directory(tmp_path):
    d = tmp_path / "empty-archive"
    d.mkdir()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, d)
    _says(e, str(d), "empty")


def test_directory_with_no_profiles(tmp_path):
    d = tmp_path / "not-an-archive"
    B.write(d / "README.md", "# notes\n")
    B.write(d / "data.csv", "a,b\n1,2\n")
    B.write(d / "sub" / "x.bin", b"\x00\x01")
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, d)
    _says(e, str(d), "no readable profile")


def test_directory_whose_only_profile_is_broken(tmp_path, cpu_raw):
    d = tmp_path / "broken"
    B.write(d / "profile", B.truncated_gzip(cpu_raw))
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, d)
    _says(e, str(d), "no readable profile", "profile", "truncated gzip")


def _fleet_copy(dest: Path, archive: str = "pprof-normal", skip=()) -> Path:
    for f in sorted(os.listdir(conftest.FLEET / archive)):
        if f not in skip:
            B.write(dest / f, (conftest.FLEET / archive / f).read_bytes())
    return dest


def test_directory_with_a_symlink_loop(tmp_path, fleet_dir):
    d = _fleet_copy(tmp_path / "arch", skip=("heap",))
    (d / "heap").symlink_to("heap")                     # a self-loop
    before = B.snapshot(tmp_path)
    arch = perfkit.load_archive(d)
    assert "profile" in arch and "heap" not in arch
    assert len(arch.problems) == 1
    _says(arch.problems[0], str(d), "heap", "symlink loop")
    row = arch.summary().set_index("file").loc["heap"]
    assert row["status"].startswith("error:") and "symlink loop" in row["status"]
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, d, strict=True)
    _says(e, str(d), "heap", "symlink loop")
    assert B.snapshot(tmp_path) == before


def test_directory_with_only_a_symlink_loop(tmp_path):
    d = tmp_path / "loop"
    d.mkdir()
    (d / "profile").symlink_to("cpu")
    (d / "cpu").symlink_to("profile")
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, d)
    _says(e, str(d), "no readable profile", "symlink loop")


def test_directory_with_symlink_to_a_directory(tmp_path, fleet_dir):
    d = _fleet_copy(tmp_path / "arch", skip=("heap",))
    (d / "heap").symlink_to(d)                          # would loop if followed
    arch = perfkit.load_archive(d)
    assert "heap" not in arch
    _says(arch.problems[0], "heap", "symlink to a directory")


def test_directory_with_a_broken_member_strict_and_not(tmp_path, fleet_dir, cpu_raw):
    d = _fleet_copy(tmp_path / "arch", skip=("profile",))
    B.write(d / "profile", B.truncated_gzip(cpu_raw))
    arch = perfkit.load_archive(d)
    assert "heap" in arch and "profile" not in arch
    _says(arch.problems[0], str(d / "profile"), "truncated gzip")
    e = _raises(perfkit.ProfileError, perfkit.load_archive, d, strict=True)
    _says(e, str(d / "profile"), "truncated gzip")
    e = _raises(perfkit.ArchiveError, lambda: arch.cpu)
    _says(e, str(d), "no readable 'profile' profile")


# -- archives: tar.gz ---------------------------------------------------------------

@pytest.fixture
def no_writes(tmp_path, monkeypatch):
    """Run in an empty working directory, forbid tar extraction, and check nothing appears."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    def forbidden(*a, **k):
        raise AssertionError("perfkit must not extract tar members to disk")
    for name in ("extract", "extractall", "_extract_member", "makefile", "makelink"):
        monkeypatch.setattr(tarfile.TarFile, name, forbidden)

    class Check:
        def __init__(self):
            self.before = B.snapshot(tmp_path)

        def __call__(self):
            after = B.snapshot(tmp_path)
            assert after == self.before, f"new or changed paths: {sorted(set(after) ^ set(self.before))}"
    return Check


def test_tar_with_dotdot_member(tmp_path, fleet_dir, no_writes):
    path = B.fleet_tar(tmp_path / "evil.tar.gz", extra=[("../escaped-profile", B.fleet_gz("pprof-normal", "heap"))])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "unsafe member", "../escaped-profile")
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path, strict=True)
    _says(e, str(path), "unsafe member")
    check()
    assert not (tmp_path.parent / "escaped-profile").exists()


def test_tar_with_dotdot_inside_member_path(tmp_path, fleet_dir, no_writes):
    path = B.fleet_tar(tmp_path / "evil.tar.gz", extra=[("debug/../../../up/profile", b"x")])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "unsafe member", "debug/../../../up/profile")
    check()


def test_tar_with_absolute_member(tmp_path, fleet_dir, no_writes):
    target = tmp_path / "abs-escape" / "profile"
    path = B.fleet_tar(tmp_path / "abs.tar.gz", extra=[(str(target), B.fleet_gz("pprof-normal", "heap"))])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "unsafe member", str(target))
    check()
    assert not target.exists() and not target.parent.exists()


@pytest.mark.parametrize("kind,target", [("symlink", "/etc/passwd"), ("symlink", "../../outside"),
                                         ("symlink", "profile"), ("hardlink", "debug/profile")])
def test_tar_with_link_member(tmp_path, fleet_dir, no_writes, kind, target):
    path = B.fleet_tar(tmp_path / "links.tar.gz", extra=[("debug/linked-heap", (kind, target))])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "debug/linked-heap", "link")
    check()


def test_tar_with_symlink_loop_members(tmp_path, no_writes):
    path = B.make_tar(tmp_path / "loop.tar.gz", [("debug/profile", ("symlink", "heap")),
                                                 ("debug/heap", ("symlink", "profile"))])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "debug/profile", "link")
    check()


def test_tar_with_fifo_member(tmp_path, fleet_dir, no_writes):
    path = B.fleet_tar(tmp_path / "fifo.tar.gz", extra=[("debug/heap.fifo", ("fifo",))])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "debug/heap.fifo", "not a regular file")
    check()


def test_tar_with_truncated_profile_member(tmp_path, fleet_dir, no_writes):
    bad = B.truncated_gzip(B.fleet_raw("pprof-normal", "heap"), 0.3)
    path = B.fleet_tar(tmp_path / "arch.tar.gz", replace={"heap": bad})
    check = no_writes()
    arch = perfkit.load_archive(path)                     # non-strict: the rest loads
    assert {"profile", "allocs", "goroutine"} <= set(arch.profiles)
    assert "heap" not in arch
    assert arch.trace is not None and arch.cmdline
    assert len(arch.problems) == 1
    _says(arch.problems[0], f"{path}/heap", "truncated gzip")
    status = arch.summary().set_index("file").loc["heap", "status"]
    assert status.startswith("error:") and "truncated gzip" in status
    e = _raises(perfkit.PerfkitError, perfkit.load_archive, path, strict=True)
    assert isinstance(e, (perfkit.ArchiveError, perfkit.ProfileError))
    _says(e, f"{path}/heap", "truncated gzip")
    check()


def test_tar_with_every_member_broken(tmp_path, no_writes):
    path = B.make_tar(tmp_path / "junk.tar.gz", [("debug/profile", b"junk"), ("debug/heap", b""),
                                                 ("debug/README", b"hello")])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "no readable profile", "profile: not a profile.proto", "heap: empty file")
    check()


def test_tar_with_no_profiles(tmp_path, no_writes):
    path = B.make_tar(tmp_path / "nothing.tar.gz", [("debug/", ("dir",)), ("debug/notes.txt", b"hi")])
    empty = B.make_tar(tmp_path / "empty.tar.gz", [])
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "no readable profile")
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, empty)
    _says(e, str(empty), "empty")
    check()


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_truncated_tar_gz(tmp_path, fleet_dir, no_writes, keep):
    whole = B.fleet_tar(tmp_path / "whole.tar.gz").read_bytes()
    path = B.write(tmp_path / "cut.tar.gz", whole[: int(len(whole) * keep)])
    check = no_writes()
    e = _raises(perfkit.PerfkitError, perfkit.load_archive, path, strict=True)
    assert isinstance(e, (perfkit.ArchiveError, perfkit.ProfileError, perfkit.TraceError))
    _says(e, str(path))
    check()


@pytest.mark.parametrize("codec", ["gz", "bz2", "xz"])
def test_compressed_tar_with_corrupt_stream(tmp_path, fleet_dir, no_writes, codec):
    import bz2
    import lzma
    raw = B.fleet_tar(tmp_path / "whole.tar", compress=False).read_bytes()
    packed = bytearray({"gz": B.gz, "bz2": bz2.compress, "xz": lzma.compress}[codec](raw))
    mid = len(packed) // 2
    packed[mid:mid + 64] = bytes(64)
    path = B.write(tmp_path / f"corrupt.tar.{codec}", bytes(packed))
    check = no_writes()
    e = _raises(perfkit.PerfkitError, perfkit.load_archive, path, strict=True)
    assert isinstance(e, (perfkit.ArchiveError, perfkit.ProfileError))
    _says(e, str(path))
    e = _raises(perfkit.PerfkitError, perfkit.load_archive, path)
    _says(e, str(path), "corrupt")
    check()


@pytest.mark.parametrize("content,name", [
    (b"", "empty.tar.gz"),
    (b"hello, not a tar", "text.tar.gz"),
    (gzip.compress(b"not a tar either" * 100, mtime=0), "notar.tar.gz"),
    (zlib.compress(b"zlib, not gzip"), "zlib.tar.gz"),
    (b"BZh91AY&SY" + bytes(40), "fake.tar.bz2"),
    (b"\xfd7zXZ\x00" + bytes(40), "fake.tar.xz"),
])
def test_file_that_is_not_a_tar(tmp_path, no_writes, content, name):
    path = B.write(tmp_path / name, content)
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path))
    check()


def test_single_profile_passed_to_load_archive(tmp_path, fleet_dir, no_writes):
    path = fleet_dir / "pprof-normal" / "heap"
    check = no_writes()
    e = _raises(perfkit.ArchiveError, perfkit.load_archive, path)
    _says(e, str(path), "not a directory or a readable tar")
    check()


def test_good_tar_loads_without_writing(tmp_path, fleet_dir, no_writes):
    path = B.fleet_tar(tmp_path / "good.tar.gz", archive="pprof-bad-cpu")
    check = no_writes()
    arch = perfkit.load_archive(path, strict=True)
    assert set(arch.profiles) == set(conftest.PROFILE_FILES)
    assert arch.problems == []
    check()
