"""Every bench/bench_*.py still runs: the perfkit ones on tiny inputs (--smoke), the others parse their
options. No benchmark is measured here; a broken script fails CI instead of the next `make bench`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SMOKE = {"pprof": "pprof.md", "scaling": "scaling.md", "flame": "flame.md", "trace": "trace.md",
         "startup": "startup.md"}
ALL = sorted(p.stem[len("bench_"):] for p in BENCH.glob("bench_*.py"))


def _run(args, **kw):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "lib"), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, **kw)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-out")


def test_every_perfkit_bench_has_a_smoke_mode():
    assert set(SMOKE) <= set(ALL)


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_smoke_run_writes_its_report(name, out_dir, go_bin):
    r = _run([str(BENCH / f"bench_{name}.py"), "--smoke", "--out-dir", str(out_dir)], timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    md = (out_dir / SMOKE[name]).read_text()
    assert "|" in md and any(v in md for v in ("PASS", "FAIL", "SKIP"))
    assert (out_dir / SMOKE[name].replace(".md", ".json")).exists()
    if name == "scaling":
        assert (out_dir / "scaling.png").stat().st_size > 0
    if name == "trace" and not Path("/usr/lib/go-1.19/bin/go").exists():
        assert "SKIP" in md           # no Debian golang-go: the pre-1.22 part skips cleanly


@pytest.mark.parametrize("name", sorted(set(ALL) - set(SMOKE)))
def test_other_benches_parse_their_options(name):
    r = _run([str(BENCH / f"bench_{name}.py"), "--help"], timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "usage" in r.stdout.lower()


def test_run_all_collects_reports_and_verdicts(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import run_all
    finally:
        sys.path.remove(str(BENCH))
    assert run_all.verdicts("| a | PASS |\n| b | FAIL |\n| c | FAIL |") == {"PASS": 1, "FAIL": 2, "SKIP": 0}
