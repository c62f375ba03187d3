"""The `perfkit` command line: contracts scripts depend on."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

import perfkit
from conftest import ROOT
from gotool import pprof_top


def run(*args, check=False, columns=None, env=None):
    env = {**os.environ, **(env or {})}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    r = subprocess.run([sys.executable, "-m", "perfkit", *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, timeout=300, env=env)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.mark.oracle
@pytest.mark.parametrize("name,index,gran", [("profile", None, "functions"), ("heap", "inuse_space", "functions"),
                                             ("allocs", "alloc_objects", "lines"), ("profile", "cpu", "files")])
def test_top_csv_contract_matches_go(fleet_dir, go_bin, name, index, gran):
    path = fleet_dir / "pprof-bad-cpu" / name
    args = ["top", path, "--format", "csv", "--granularity", gran] + (["--sample-index", index] if index else [])
    r = run(*args, check=True)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0].keys()) == ["name", "flat", "flat_pct", "sum_pct", "cum", "cum_pct"]
    p = perfkit.read_profile(path)
    flag = {"functions": [], "files": ["-files"], "lines": ["-lines"]}[gran]
    want, _ = pprof_top(path, p.unit(index), f"-sample_index={p.sample_type_names[p.sample_index(index)]}", *flag)
    # every node, raw integers, no pruning
    assert {r["name"]: (int(r["flat"]), int(r["cum"])) for r in rows} == want
    assert float(rows[-1]["sum_pct"]) == pytest.approx(100.0, abs=1e-3)


def test_top_json_and_table(fleet_dir):
    path = fleet_dir / "pprof-bad-cpu" / "profile"
    doc = json.loads(run("top", path, "--format", "json", check=True).stdout)
    assert doc["attrs"]["unit"] == "nanoseconds"
    assert doc["rows"][0]["name"] == "math/big.addMulVVW"
    table = run("top", path, "--nodecount", "3", check=True).stdout
    assert "math/big.addMulVVW" in table and "more rows" in table


def test_errors_are_one_line_and_nonzero(tmp_path, fleet_dir):
    bad = tmp_path / "garbage.pb.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    for args in (["top", tmp_path / "missing"], ["top", bad], ["top", fleet_dir / "pprof-normal"],
                 ["top", fleet_dir / "pprof-normal" / "profile", "--sample-index", "nope"],
                 ["archive", tmp_path]):
        r = run(*args)
        assert r.returncode == 1, args
        assert r.stderr.startswith("perfkit: error: ") and r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.stderr
    assert run("top").returncode == 2          # usage error from argparse


def test_archive_peek_diff(fleet_dir):
    a = run("archive", fleet_dir / "pprof-bad-cpu", "--format", "csv", check=True).stdout
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO(a))}
    assert rows["trace"]["sample_types"] == "go 1.11 trace"
    assert rows["mutex"]["status"] == "ok (no samples)"
    pk = run("peek", fleet_dir / "pprof-bad-cpu" / "profile", r"rsa\.SignPSS$", "--format", "csv", check=True).stdout
    assert "crypto/rsa.(*PrivateKey).Sign" in pk
    d = run("diff", fleet_dir / "pprof-normal" / "profile", fleet_dir / "pprof-bad-cpu" / "profile",
            "--format", "csv", check=True).stdout
    first = next(csv.DictReader(io.StringIO(d)))
    assert first["name"] == "math/big.addMulVVW" and first["flat_noise"] == "False"


def test_export_never_overwrites_without_force(fleet_dir, tmp_path):
    src = fleet_dir / "pprof-bad-cpu" / "profile"
    out = tmp_path / "cpu.folded"
    out.write_text("precious")
    r = run("export", src, "-o", out)
    assert r.returncode == 1 and "exists" in r.stderr
    assert out.read_text() == "precious"
    run("export", src, "-o", out, "--force", check=True)
    assert "crypto/rsa.SignPSS" in out.read_text()
    sp = tmp_path / "cpu.json"
    run("export", src, "-o", sp, check=True)
    assert json.loads(sp.read_text())["profiles"][0]["type"] == "sampled"
    r = run("export", src, "-o", tmp_path / "x.unknownext")
    assert r.returncode == 1 and "--format" in r.stderr
    r = run("export", src, "-o", tmp_path / "nodir" / "x.folded")
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cpu.folded", "cpu.json"]


@pytest.mark.oracle
def test_export_pprof_with_focus_is_read_by_go(fleet_dir, go_bin, tmp_path):
    src = fleet_dir / "pprof-bad-cpu" / "profile"
    out = tmp_path / "tls.pb.gz"
    run("export", src, "-o", out, "--focus", "crypto/tls", check=True)
    got, _ = pprof_top(out, "nanoseconds")
    want, _ = pprof_top(src, "nanoseconds", "-focus=crypto/tls")
    assert got == want


# ---- terminal tables: an independent humaniser (3 significant digits, largest unit the value reaches)
_SCALES = {"nanoseconds": [("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1)],
           "bytes": [("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("B", 1)]}


def human(v: int, unit: str) -> str:
    for suffix, scale in _SCALES[unit]:
        if abs(v) >= scale or scale == 1:
            x = v / scale
            return (f"{int(x)}" if x == int(x) else f"{x:.3g}") + suffix


def test_independent_humaniser_itself():
    assert [human(56_730_000_000, "nanoseconds"), human(650_000_000, "nanoseconds"), human(0, "nanoseconds"),
            human(68_738_938, "bytes"), human(61881, "bytes"), human(104, "bytes")] == \
        ["56.7s", "650ms", "0ns", "65.6MiB", "60.4KiB", "104B"]


def _table_rows(stdout: str, n_values: int):
    """(value cells, name) per row of a pprof-like table (after its column header)."""
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["flat", "flat%"])
    rows = []
    for ln in lines[start + 1:]:
        if ln.startswith("("):
            break
        parts = ln.split(None, n_values)
        rows.append((parts[:n_values], parts[n_values]))
    return lines, rows


def _unshorten(shown: str, names) -> str:
    if "…" not in shown:
        return shown
    head, tail = shown.split("…")
    hits = [n for n in names if n.startswith(head) and n.endswith(tail) and len(n) > len(shown)]
    assert len(hits) == 1, (shown, hits)
    return hits[0]


@pytest.mark.oracle
@pytest.mark.parametrize("name,index,unit,columns", [("profile", "cpu", "nanoseconds", 72),
                                                     ("heap", "inuse_space", "bytes", 120)])
def test_top_table_is_humanised_and_fits_columns(fleet_dir, go_bin, name, index, unit, columns):
    path = fleet_dir / "pprof-bad-cpu" / name
    want, _ = pprof_top(path, unit, f"-sample_index={index}")
    r = run("top", path, "--sample-index", index, "--nodecount", "0", columns=columns, check=True)
    lines, rows = _table_rows(r.stdout, 5)
    assert all(len(ln) <= columns for ln in lines), max(lines, key=len)
    assert len(rows) == len(want)
    shortened = 0
    for cells, shown in rows:
        full = _unshorten(shown, want)
        shortened += full != shown
        flat, cum = want[full]
        assert cells[0] == human(flat, unit) and cells[3] == human(cum, unit), (full, cells)
        assert cells[1].endswith("%") and cells[4].endswith("%")
    # long names exist in these profiles: at this width some are cut, never all
    assert 0 < shortened < len(rows)


def test_long_names_are_shortened_in_the_middle(fleet_dir):
    path = fleet_dir / "pprof-bad-cpu" / "heap"
    long = "vendor/golang.org/x/crypto/cryptobyte.(*Builder).addLengthPrefixed"
    wide = run("top", path, "--sample-index", "alloc_objects", "-q", columns=200, check=True).stdout
    assert any(ln.endswith("  " + long) for ln in wide.splitlines())
    narrow = run("top", path, "--sample-index", "alloc_objects", "-q", columns=70, check=True).stdout.splitlines()
    cut = [ln for ln in narrow if "…" in ln and ln.endswith("addLengthPrefixed")]
    assert len(cut) == 1 and len(cut[0]) == 70
    shown = cut[0].split("  ")[-1]
    head, tail = shown.split("…")
    assert long.startswith(head) and long.endswith(tail) and len(head) >= 5


def test_diff_and_peek_tables_fit(fleet_dir):
    normal, bad = fleet_dir / "pprof-normal" / "profile", fleet_dir / "pprof-bad-cpu" / "profile"
    d = run("diff", normal, bad, "--nodecount", "0", columns=90, check=True).stdout.splitlines()
    assert all(len(ln) <= 90 for ln in d)
    first = d[2].split()
    assert first[-1] == "math/big.addMulVVW" and first[0].startswith("+") and first[0].endswith("s")
    pk = run("peek", bad, r"rsa\.SignPSS$", columns=60, check=True).stdout.splitlines()
    assert all(len(ln) <= 60 for ln in pk)
    names = [ln.split()[-1] for ln in pk[2:]]
    # callers above the node, callees below it
    assert names.index("crypto/rsa.(*PrivateKey).Sign") < names.index("crypto/rsa.SignPSS") < \
        names.index("crypto/rsa.signPSSWithSalt")


@pytest.mark.parametrize("columns", [60, 250])
def test_archive_table_fits_100_columns(fleet_dir, columns):
    r = run("archive", fleet_dir / "pprof-bad-cpu", columns=columns, check=True)
    lines = r.stdout.splitlines()
    assert all(len(ln) <= 100 for ln in lines), max(lines, key=len)
    text = " ".join(" ".join(ln.split()) for ln in lines)
    # sizes humanised from the files' own sizes; every total is still shown (wrapped if need be)
    d = fleet_dir / "pprof-bad-cpu"
    assert f"profile profile {human((d / 'profile').stat().st_size, 'bytes')}" in text
    assert f"mutex mutex {human((d / 'mutex').stat().st_size, 'bytes')} 0 empty" in text
    for name in ("profile", "heap", "goroutine"):
        p = perfkit.read_profile(d / name)
        for i, t in enumerate(p.sample_types):
            v = p.total(i)
            assert f"{t.type}={human(v, t.unit) if t.unit in _SCALES else f'{v:,}'}" in text


def test_empty_profiles_are_read_by_every_command(fleet_dir, tmp_path):
    mutex = fleet_dir / "pprof-bad-cpu" / "mutex"
    r = run("top", mutex, check=True)
    assert "(no samples)" in r.stdout
    assert run("top", mutex, "--format", "csv", check=True).stdout.strip() == "name,flat,flat_pct,sum_pct,cum,cum_pct"
    run("export", mutex, "-o", tmp_path / "m.folded", check=True)
    assert (tmp_path / "m.folded").read_text() == ""
    run("flame", mutex, "-o", tmp_path / "m.html", check=True)
    assert (tmp_path / "m.html").stat().st_size > 0


def test_filter_options_come_from_filters():
    text = run("top", "--help", columns=200, check=True).stdout
    import dataclasses
    for f in dataclasses.fields(perfkit.Filters):
        assert f"--{f.name} REGEX" in text


def test_plugins_are_discovered_and_a_broken_one_only_warns(tmp_path, fleet_dir):
    dist = tmp_path / "perfkit_test_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: perfkit-test-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[perfkit.cli]\nhello = hello_plugin:register\n"
                                           "broken = no_such_module_here:register\n")
    (tmp_path / "hello_plugin.py").write_text(textwrap.dedent("""
        def register(sub):
            sp = sub.add_parser("hello", help="say hello")
            sp.add_argument("who")
            sp.set_defaults(func=lambda a: print(f"hello {a.who}") or 0)
    """))
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    r = run("hello", "world", env=env, check=True)
    assert r.stdout == "hello world\n"
    warn = r.stderr.splitlines()
    assert len(warn) == 1 and warn[0].startswith("perfkit: warning: plugin 'broken'")
    assert "no_such_module_here" in warn[0]
    r = run("top", fleet_dir / "pprof-bad-cpu" / "profile", "--format", "csv", env=env, check=True)
    assert r.stdout.startswith("name,flat,")
