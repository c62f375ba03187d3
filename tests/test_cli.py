"""The `perfkit` command line: contracts scripts depend on."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

import perfkit
from conftest import ROOT
from gotool import pprof_top


def run(*args, check=False):
    r = subprocess.run([sys.executable, "-m", "perfkit", *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
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
