"""Text goroutine dumps and crash output, from real Go processes."""
from __future__ import annotations

import http.client
import time

import pytest

import perfkit
from conftest import ROOT
from perfkit.formats.goroutine_text import GOROUTINE_COLUMNS, parse_crash, parse_goroutines
from perfkit.views.goroutines import goroutines_frame
from wordgame_lab import DefectiveServer, WordgameServer, run_blackbox

pytestmark = pytest.mark.skipif(not (ROOT / "wordgame" / "go.mod").exists(), reason="no wordgame server")
HTTP_CONNECTION = ("net/http.(*conn).", "net/http.(*connReader).")


def own_http_connection(frames) -> bool:
    """A goroutine of an HTTP connection (its serve loop, handler or background reader), or one with no stack yet."""
    return not len(frames) or any(f.startswith(HTTP_CONNECTION) for f in frames)


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (path, r.status, body[:200])
    return body


def _serving(dump):
    return dump[dump["frames"].map(lambda f: "net/http.(*Server).Serve" in f)]


def test_debug2_dump_matches_the_goroutine_profile():
    # Every request goes over one keep-alive connection. An accept loop that has just accepted a connection runs
    # on in Server.Serve until it parks in the next accept, and a busy machine can delay that past the
    # handler's snapshot; with no new connection, the dump is taken again (bounded) until both loops are parked.
    with WordgameServer() as s:
        conn = http.client.HTTPConnection(s.admin_url.split("//", 1)[1], timeout=10)
        for _ in range(50):
            text = _get(conn, "/debug/pprof/goroutine?debug=2").decode()
            serving = _serving(parse_goroutines(text))
            if len(serving) >= 2 and (serving["state"] == "IO wait").all():
                break
            time.sleep(0.1)
        prof = perfkit.decode_profile(_get(conn, "/debug/pprof/goroutine"))
        conn.close()
    dump = parse_goroutines(text)
    assert list(dump.columns) == GOROUTINE_COLUMNS
    assert dump["goroutine"].is_unique and (dump["count"] == 1).all()
    assert (dump["frames"].map(len) > 0).all()
    assert (dump["files"].map(len) == dump["frames"].map(len)).all()
    # the same idle server, two views. The goroutines of the test's own HTTP connections come and go between the
    # two requests (the handler, a closing connection's reader, one not yet started: no stack); every other
    # goroutine is in both, waiting at the same place (compared by `where`: tracebacks hide runtime.gopark & co)
    prof_df = goroutines_frame(prof)
    stable_dump = dump[~dump["frames"].map(own_http_connection)]
    stable_prof = prof_df[~prof_df["frames"].map(own_http_connection)]
    by_dump = stable_dump.groupby("where")["count"].sum().sort_index()
    by_prof = stable_prof.groupby("where")["count"].sum().sort_index()
    assert by_dump.to_dict() == by_prof.to_dict()
    # two accept loops, the store's evictor, the signal loop and its waiter in main, Server.Run
    assert by_dump.get("net.(*netFD).accept") == 2 and len(stable_dump) >= 6, by_dump
    serve = _serving(dump)
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
