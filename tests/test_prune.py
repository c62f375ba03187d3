"""drop_frames/keep_frames pruning against go tool pprof, which applies it on every read."""
from __future__ import annotations

import pytest

import perfkit
from gotool import pprof_top
from perfkit.model.prune import simplify_function

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize("drop,keep", [
    (r"math/big\.nat\.montgomery", ""),
    (r"crypto/tls\.", ""),                                  # Go method names simplify to their package
    (r"math/big\.nat\.(montgomery|expNN)", r"math/big\.nat\.expNN"),
    (r"runtime\.schedule|runtime\.findrunnable", ""),
])
def test_pruned_profile_matches_go_tool(fleet_dir, go_bin, tmp_path, drop, keep):
    p = perfkit.read_profile(fleet_dir / "pprof-bad-cpu" / "profile")
    marked = p.derive(drop_frames=drop, keep_frames=keep)
    out = perfkit.write_profile(marked, tmp_path / "marked.pb.gz")
    again = perfkit.read_profile(out)
    got = {r.name: (int(r.flat), int(r.cum)) for r in perfkit.top(again, "cpu").itertuples()}
    want, _ = pprof_top(out, "nanoseconds", "-sample_index=cpu")
    assert got == want
    assert again.total("cpu") == p.total("cpu")       # pruning moves samples, never drops them
    assert got != {r.name: (int(r.flat), int(r.cum)) for r in perfkit.top(p, "cpu").itertuples()}


@pytest.mark.parametrize("name,simple", [
    ("net/http.(*conn).serve", "net/http."), ("main.main", "main.main"), (".foo(int)", "foo"),
    ("(anonymous namespace)::f(int)", "(anonymous namespace)::f"), ("operator()(x)", "operator()"),
])
def test_simplify_function(name, simple):
    assert simplify_function(name) == simple
