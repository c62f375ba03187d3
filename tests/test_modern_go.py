"""Oracle tests on profiles written by this machine's Go (start lines, inlining, pprof labels)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import perfkit
from conftest import ROOT
from gotool import go, pprof_top

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def modern(tmp_path_factory, go_bin) -> Path:
    out = tmp_path_factory.mktemp("modern-go")
    subprocess.run([go(), "run", ".", "-o", str(out), "-d", "1500ms"], cwd=ROOT / "tests" / "goprof",
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.mark.parametrize("name", ["profile", "heap", "allocs", "goroutine"])
@pytest.mark.parametrize("granularity", ["functions", "files", "lines"])
def test_modern_profiles_match_go_tool(modern, name, granularity):
    path = modern / name
    p = perfkit.read_profile(path)
    assert (p.fn_start_line > 0).any(), "current Go records function start lines"
    for st in p.sample_types:
        df = perfkit.top(p, st.type, granularity=granularity)
        flag = {"functions": [], "files": ["-files"], "lines": ["-lines"]}[granularity]
        want, header = pprof_top(path, st.unit, f"-sample_index={st.type}", *flag,
                                 duplicates=granularity == "files")
        got = {r.name: (int(r.flat), int(r.cum)) for r in df.itertuples()}
        if granularity != "files":
            assert got == want
            continue
        # pprof splits a file into one row per function start line (a pprof quirk);
        # perfkit keeps one row per file: flat is additive, cum covers every split row
        assert set(got) == set(want)
        for name, (flat, cum) in want.items():
            assert got[name][0] == flat
            assert got[name][1] >= cum


def test_modern_cpu_labels_and_recursion(modern):
    p = perfkit.read_profile(modern / "profile")
    assert set(p.labels["key"]) == {"phase"}
    want, _ = pprof_top(modern / "profile", "nanoseconds", "-tagfocus=phase=fib", "-sample_index=cpu")
    df = perfkit.top(p, "cpu", filters=perfkit.Filters(tagfocus="phase=fib"))
    assert {r.name: (int(r.flat), int(r.cum)) for r in df.itertuples()} == want
    fib = df.set_index("name").loc["main.fib"]
    # recursion: cum counts a sample once even though fib appears many times in it
    assert fib["cum"] <= df.attrs["total"]
    assert perfkit.sample_stacks(p, "cpu", filters=perfkit.Filters(tagfocus="phase=fib"))["depth"].max() > 10
    assert any(p.locations["inlined"])
