"""Text goroutine dumps and crash output, from real Go processes."""
from __future__ import annotations

import urllib.request

import pytest

import perfkit
from conftest import ROOT
from perfkit.formats.goroutine_text import GOROUTINE_COLUMNS, parse_crash, parse_goroutines
from perfkit.views.goroutines import goroutines_frame
from wordgame_lab import DefectiveServer, WordgameServer, run_blackbox

pytestmark = pytest.mark.skipif(not (ROOT / "wordgame" / "go.mod").exists(), reason="no wordgame server")


def test_debug2_dump_matches_the_goroutine_profile():
    with WordgameServer() as s:
        text = urllib.request.urlopen(s.admin_url + "/debug/pprof/goroutine?debug=2", timeout=10).read().decode()
        prof = perfkit.decode_profile(urllib.request.urlopen(s.admin_url + "/debug/pprof/goroutine", timeout=10).read())
    dump = parse_goroutines(text)
    assert list(dump.columns) == GOROUTINE_COLUMNS
    assert dump["goroutine"].is_unique and (dump["count"] == 1).all()
    assert (dump["frames"].map(len) > 0).all()
    assert (dump["files"].map(len) == dump["frames"].map(len)).all()
    # the same idle server, two views: the same goroutines (give or take the handler serving the request)
    prof_df = goroutines_frame(prof)
    assert abs(int(prof_df["count"].sum()) - len(dump)) <= 2
    # tracebacks hide runtime frames such as runtime.gopark, so compare where goroutines wait
    by_dump = dump.groupby("where")["count"].sum()
    by_prof = prof_df.groupby("where")["count"].sum()
    common = set(by_dump.index) & set(by_prof.index)
    assert by_dump[list(common)].sum() >= len(dump) - 2
    for w in common:
        assert by_dump[w] == pytest.approx(by_prof[w], abs=1), w
    serve = dump[dump["frames"].map(lambda f: "net/http.(*Server).Serve" in f)]
    assert len(serve) >= 2                                  # public and admin accept loops
    assert (serve["state"] == "IO wait").all()
    created = dump[dump["created_by"] != ""]
    assert len(created) and created["creator_goroutine"].notna().any()


def test_concurrent_map_writes_crash_is_parsed():
    with DefectiveServer() as srv:
        res = run_blackbox(srv.url, group="hardening", word=srv.word, pid=srv.pid, slow_timeout=1, ttl=1,
                          examples=5, timeout=300,
                          extra_args=["-k", "concurrent_games"])
        crash = srv.crash()
    died = res.findings[res.findings["finding"].str.startswith("process died", na=False)]
    assert len(died) == 1
    assert crash is not None, "the defective server died without a crash report"
    assert crash.message.startswith("fatal error: concurrent map")
    g = crash.crashing
    assert g["state"] == "running"
    assert any("main." in f for f in g["frames"]), g["frames"]
    assert len(crash.goroutines) >= 1          # GOTRACEBACK=single prints the crashing goroutine
    assert "concurrent map" in crash.summary()


def test_not_a_dump_is_a_clear_error(tmp_path):
    with pytest.raises(perfkit.ProfileError, match="not a goroutine dump"):
        parse_goroutines("hello\nworld\n", source="x.txt")
    assert parse_crash("all good\n") is None
