"""`perfkit triage`: the JSON contract, formats, widths and exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

SEVERITIES = ["high", "medium", "low", "info"]


def run(*args, columns=None, timeout=300):
    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "perfkit", "triage", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env=env)


def test_json_contract_on_the_fleet_pair(fleet_dir):
    bad, normal = fleet_dir / "pprof-bad-cpu", fleet_dir / "pprof-normal"
    r = run(bad, "--baseline", normal, "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d) == ["archive", "baseline", "findings"]
    assert d["archive"] == str(bad) and d["baseline"] == str(normal)
    keys = {"kind", "severity", "title", "evidence", "explanation", "next_step"}
    assert all(set(f) == keys for f in d["findings"])
    ranks = [SEVERITIES.index(f["severity"]) for f in d["findings"]]
    assert ranks == sorted(ranks)
    high = {f["kind"] for f in d["findings"] if f["severity"] == "high"}
    assert {"tls-handshakes", "connection-churn"} <= high


def test_normal_alone_has_no_high_and_exits_zero(fleet_dir):
    r = run(fleet_dir / "pprof-normal", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["baseline"] is None
    assert not [f for f in d["findings"] if f["severity"] == "high"]


@pytest.mark.parametrize("columns", [60, 100])
def test_table_fits_columns(fleet_dir, columns):
    r = run(fleet_dir / "pprof-bad-cpu", "--baseline", fleet_dir / "pprof-normal", columns=columns)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines and all(len(s) <= columns for s in lines)
    assert any(s.startswith("high") and "tls-handshakes" in s for s in lines)


def test_markdown(fleet_dir):
    r = run(fleet_dir / "pprof-bad-cpu", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# Triage of") and "## high: tls-handshakes" in r.stdout
    assert "| evidence | value | unit | source |" in r.stdout


def test_tar_gz_archive(fleet_dir, tmp_path):
    import tarfile
    tgz = tmp_path / "bad.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(fleet_dir / "pprof-bad-cpu", arcname="pprof-bad-cpu")
    r = run(tgz, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "tls-handshakes" in {f["kind"] for f in json.loads(r.stdout)["findings"] if f["severity"] == "high"}


def test_bad_input_is_one_line_and_nonzero(tmp_path, fleet_dir):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar file at all")
    for args in ([tmp_path / "missing"], [junk], [fleet_dir / "pprof-normal", "--baseline", tmp_path / "missing"],
                 ["http://127.0.0.1:9/"]):
        r = run(*args, timeout=60)
        assert r.returncode != 0, args
        assert r.stdout == ""
        err = [s for s in r.stderr.splitlines() if not s.startswith("perfkit: collecting")]
        assert len(err) == 1 and err[0].startswith("perfkit: error: "), r.stderr
    r = run(fleet_dir / "pprof-normal", "--format", "xml")
    assert r.returncode == 2


@pytest.mark.slow
def test_url_is_collected_first_with_progress(tmp_path):
    if not (ROOT / "wordgame" / "go.mod").exists():
        pytest.skip("the wordgame server is not in this checkout")
    from wordgame_lab import WordgameServer
    with WordgameServer() as s:
        r = run(s.admin_url, "--seconds", "1", "--format", "json", timeout=180)
    assert r.returncode == 0, r.stderr
    assert "perfkit: collecting" in r.stderr
    d = json.loads(r.stdout)
    assert d["archive"] and not [f for f in d["findings"] if f["severity"] == "high"]
