"""`perfkit collect` against the real wordgame server's admin pprof endpoint."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

import perfkit
from conftest import ROOT
from gotool import go
from wordgame_lab import WordgameServer


@pytest.fixture(scope="module")
def server():
    if not (ROOT / "wordgame" / "go.mod").exists():
        pytest.skip("the wordgame server is not in this checkout")
    with WordgameServer() as s:
        yield s


def _load(url: str, seconds: float) -> None:
    """Bounded background traffic so the CPU profile has samples."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and n < 20000:
        req = urllib.request.Request(url + "/new", data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            gid = json.loads(r.read())["id"]
        for letter in "EAT":
            body = json.dumps({"id": gid, "guess": letter}).encode()
            try:
                urllib.request.urlopen(urllib.request.Request(url + "/guess", data=body, method="POST"), timeout=5).read()
            except OSError:
                break
        n += 1


def test_collect_writes_the_fleet_layout(server, tmp_path, go_bin):
    t = threading.Thread(target=_load, args=(server.url, 2.5), daemon=True)
    t.start()
    lines = []
    arch = perfkit.collect(server.admin_url, tmp_path / "archive", cpu_seconds=1, trace_seconds=0.5,
                           progress=lines.append)
    t.join(10)
    names = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert names == sorted(["profile", "heap", "allocs", "goroutine", "block", "mutex", "threadcreate", "trace",
                            "cmdline", "errors"])
    assert arch.errors == [] and arch.problems == []
    assert arch.cmdline[0].endswith("wordgame")
    assert int(arch.trace.version.split(".")[1]) >= 22
    assert arch.cpu.duration_seconds == pytest.approx(1, abs=0.5)
    assert any("profile" in ln and "bytes" in ln for ln in lines)        # progress per file
    # the Go tool reads what we wrote
    out = subprocess.run([go(), "tool", "pprof", "-top", str(tmp_path / "archive" / "goroutine")],
                         capture_output=True, text=True, check=True).stdout
    assert "goroutine" in out.lower()
    assert arch["goroutine"].total() > 0


def test_collect_refuses_missing_endpoint_and_non_empty_dir(server, tmp_path):
    with pytest.raises(perfkit.CollectError, match="404|pprof"):
        perfkit.collect(server.url, tmp_path / "a", cpu_seconds=1)      # public listener: no pprof
    assert not (tmp_path / "a").exists()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(perfkit.CollectError, match="cannot connect"):
        perfkit.collect(f"http://127.0.0.1:{port}", tmp_path / "b", timeout=2)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep").write_text("precious")
    with pytest.raises(perfkit.CollectError, match="not empty"):
        perfkit.collect(server.admin_url, tmp_path / "c")
    assert (tmp_path / "c" / "keep").read_text() == "precious"


@pytest.mark.slow
def test_collect_cli(server, tmp_path):
    r = subprocess.run([sys.executable, "-m", "perfkit", "collect", server.admin_url, "-o", str(tmp_path / "x"),
                        "--seconds", "0.5", "--trace-seconds", "0.2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "[1/9]" in r.stderr and "collected 9/9 files" in r.stderr
    r = subprocess.run([sys.executable, "-m", "perfkit", "collect", server.url, "-o", str(tmp_path / "y")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("perfkit: error: ")


def _gc_count(server) -> float:
    text = urllib.request.urlopen(server.admin_url + "/metrics", timeout=5).read().decode()
    return next(float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith("go_gc_duration_seconds_count"))


def test_collect_gc_makes_the_heap_snapshot_current(tmp_path):
    # GOGC=off: the server collects only when asked, so every completed cycle is one that collect asked for
    with WordgameServer(env={"GOGC": "off"}) as quiet:
        before = _gc_count(quiet)
        for i in range(3):
            perfkit.collect(quiet.admin_url, tmp_path / f"gc{i}", steps=("heap",), gc=True, progress=False)
        forced = _gc_count(quiet)
        for i in range(3):
            perfkit.collect(quiet.admin_url, tmp_path / f"plain{i}", steps=("heap",), progress=False)
        assert forced - before == 3 and _gc_count(quiet) == forced
