"""The open-model generator (perfkit.lab.open_load) against small servers started here on 127.0.0.1:
a stall is charged to every request that should have gone out during it (a closed loop under-reports it),
the arrival rate holds, value pools carry state between requests, and bad scenarios are named."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from perfkit.errors import PerfkitError
from perfkit.lab import WRK_DONE, CpuMeter, bottleneck, open_capacity_search, open_load, plan_workers, wrk_run

pytestmark = pytest.mark.serial     # measures CPU or rates: `make test` runs it alone, after the parallel part

PING = {"name": "ping", "templates": [{"name": "get", "weight": 1, "path": "/"}]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass                                  # a client gone mid-answer (end of a run) is not news here


def _serve(handler_cls, state):
    handler_cls.state = state
    srv = _Server(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


class _Stall(BaseHTTPRequestHandler):
    """Answers at once, except that a request arriving in [first + AT, first + AT + T) waits until its end."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state: dict

    def log_message(self, *a):
        pass

    def _answer(self):
        st = self.state
        now = time.monotonic()
        with st["lock"]:
            st.setdefault("first", now)
        start = st["first"] + st["at"]
        if start <= now < start + st["T"]:
            time.sleep(start + st["T"] - now)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture()
def stall_server():
    state = {"lock": threading.Lock(), "at": 1.0, "T": 0.5}
    srv, url = _serve(_Stall, state)
    yield url, state
    srv.shutdown()
    srv.server_close()


def test_a_stall_is_charged_to_every_request_due_during_it(stall_server):
    url, st = stall_server
    rate, T = 200.0, st["T"]
    r = open_load(url, PING, rate, 3, timeout=3)
    req = r.requests
    assert req["ok"].all(), req[~req["ok"]].head()
    # the stall's window in generator time: the first request opened it (sent within ms of t=0)
    s0 = req["send_s"].min() + st["at"]
    due = req[(req["intended_s"] >= s0 + 0.02) & (req["intended_s"] < s0 + T - 0.02)]
    assert len(due) >= rate * (T - 0.04) - 2
    # each request due in the stall waited until its end: latency >= end - intended (a little slack)
    short = due["latency_intended_ms"] < (s0 + T - due["intended_s"]) * 1e3 - 15
    assert not short.any(), due[short].head()
    # so the tail reflects T: about rate*T*(1-q) requests are slower than q*T
    lat = r.latency()
    n = len(req)
    assert lat.at["max", "from intended time"] >= (T - 0.03) * 1e3
    expect_p99 = (T - 0.01 * n / rate) * 1e3                   # the (1 % of n)-th slowest: due 1 %·n/rate after the start
    assert lat.at["p99", "from intended time"] >= expect_p99 - 40, lat
    # measured from the actual send, the requests queued behind the stall look fast: the omission
    assert lat.at["p50", "from actual send"] < lat.at["p50", "from intended time"] + 1


def _closed_loop(url: str, connections: int, seconds: float) -> list[float]:
    """The closed model: each connection sends its next request when the previous answer arrived."""
    host, port = url.removeprefix("http://").split(":")
    lat: list[float] = []

    def loop():
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        end = time.monotonic() + seconds
        for _ in range(100_000):
            if time.monotonic() >= end:
                break
            t = time.perf_counter()
            c.request("GET", "/")
            c.getresponse().read()
            lat.append((time.perf_counter() - t) * 1e3)
        c.close()
    ts = [threading.Thread(target=loop) for _ in range(connections)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 10)
    return lat


def test_a_closed_loop_under_reports_the_same_stall(stall_server):
    url, st = stall_server
    T = st["T"]
    lat = _closed_loop(url, 2, 3)
    # two connections: only two requests see the stall (the others were never sent), so the p99 stays
    # far below T although the server answered nothing for T
    assert max(lat) >= (T - 0.05) * 1e3
    assert np.percentile(lat, 99) < T * 1e3 / 4, (len(lat), np.percentile(lat, 99))
    st.pop("first")
    r = open_load(url, PING, 200, 3, timeout=3)
    # ... while the open model's p99 is most of T (see the test above for the exact bound)
    assert r.latency().at["p99", "from intended time"] > T * 1e3 / 2


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed")
def test_wrk_corrects_its_tail_after_the_fact(stall_server):
    # wrk (not wrk2) is closed-loop but back-fills each slow sample with synthetic ones spaced by the
    # mean interval (stats_correct): its p99 shows a stall that two connections alone could not
    url, st = stall_server
    w = wrk_run(url, WRK_DONE, connections=2, threads=1, seconds=3, timeout="3s")
    assert w["max_ms"] >= (st["T"] - 0.05) * 1e3
    assert w["p99_ms"] > st["T"] * 1e3 / 4, w


class _Fast(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state: dict

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_the_arrival_rate_holds():
    srv, url = _serve(_Fast, {})
    try:
        rate, dur = 500.0, 2.0
        r = open_load(url, PING, rate, dur)
    finally:
        srv.shutdown()
        srv.server_close()
    req = r.requests
    assert len(req) == int(rate * dur) and req["sent"].all()
    # intended times are exact; actual sends trail them by the dispatch lag (timer resolution, ~1 ms,
    # plus scheduling on a busy machine), so each second's count is within rate x lag of the schedule
    # (a loaded 2-core machine can deschedule the generator for tens of ms: the bound allows 50 ms)
    lag_s = float(np.percentile(req["dispatch_lag_ms"], 99)) / 1e3
    assert lag_s < 0.05, r.latency()
    for k in (1.0, 2.0):
        n = int((req["send_s"] < k).sum())
        # never early; late by at most the lag (1 % of arrivals may be later than the p99)
        assert rate * (k - lag_s) - 0.01 * len(req) - 1 <= n <= rate * k + 1, (k, n, lag_s)
    assert r.seconds["arrivals"].tolist() == [int(rate)] * int(dur)


class _Pool(BaseHTTPRequestHandler):
    """/new -> {"id":"N"}; /use?id=N -> {"left":K} counting down from USES; 409 on a concurrent use."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state: dict

    def log_message(self, *a):
        pass

    def _send(self, code, obj):
        b = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        st = self.state
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if self.path == "/new":
            with st["lock"]:
                gid = str(len(st["left"]))
                st["left"][gid] = st["uses"]
            return self._send(200, {"id": gid})
        gid = json.loads(body)["id"]
        with st["lock"]:
            if gid in st["busy"] or st["left"].get(gid, 0) <= 0:
                st["bad"] += 1
                return self._send(409, {"error": "busy or used up"})
            st["busy"].add(gid)
        time.sleep(0.002)
        with st["lock"]:
            st["busy"].discard(gid)
            st["left"][gid] -= 1
            left = st["left"][gid]
            st["picks"].append(json.loads(body)["x"])
        self._send(200, {"left": left})


def test_pools_carry_values_between_requests():
    st = {"lock": threading.Lock(), "left": {}, "busy": set(), "bad": 0, "uses": 3, "picks": []}
    srv, url = _serve(_Pool, st)
    sc = {"name": "pool", "lists": {"xs": ["a", "b", "c"]}, "templates": [
        {"name": "new", "weight": 1, "method": "POST", "path": "/new",
         "capture": {"pool": "ids", "regex": '"id":"([^"]+)"'}},
        {"name": "use", "weight": 3, "method": "POST", "path": "/use", "take": "ids",
         "body": '{"id":"{{value}}","x":"{{pick:xs}}"}', "put_back": '"left":[1-9]'}]}
    try:
        r = open_load(url, sc, 300, 2)
    finally:
        srv.shutdown()
        srv.server_close()
    req = r.requests
    assert st["bad"] == 0 and req["ok"].all(), req[~req["ok"]].head()
    assert req.iloc[0]["template"] == "new"              # the pool starts empty: the first arrival cannot use
    uses = (req["template"] == "use").sum()
    assert uses > 0.5 * len(req)
    # every value is used at most 3 times (put back only while uses are left), never two at once (no 409)
    assert max(3 - v for v in st["left"].values()) <= 3 and sum(3 - v for v in st["left"].values()) == uses
    assert set(st["picks"]) == {"a", "b", "c"}


@pytest.mark.parametrize("scenario, problem", [
    ({"name": "s1", "templates": []}, "no templates"),
    ({"name": "s2", "templates": [{"weight": 1, "path": "nope"}]}, "path must start with /"),
    ({"name": "s3", "templates": [{"weight": 1, "path": "/", "take": "ids"}]}, "no template captures"),
    ({"name": "s4", "templates": [{"weight": 1, "path": "/", "capture": {"pool": "p", "regex": "(["}}]},
     "capture regex"),
    ({"name": "s5", "templates": [{"weight": 1, "path": "/", "wieght": 2}]}, "unknown field"),
    ({"name": "s6", "templates": [{"weight": 0, "path": "/"}]}, "weight must be > 0"),
    ({"name": "s7", "templates": [{"weight": 1, "path": "/{{pick:nope}}"}]}, 'no list "nope"'),
])
def test_a_bad_scenario_names_the_scenario_and_the_problem(scenario, problem):
    with pytest.raises(PerfkitError, match=problem) as e:
        open_load("http://127.0.0.1:9", scenario, 10, 1)
    assert scenario["name"] in str(e.value)


def test_bad_arguments():
    with pytest.raises(PerfkitError, match="rate"):
        open_load("http://127.0.0.1:9", PING, 0, 1)
    with pytest.raises(PerfkitError, match="http://"):
        open_load("https://example.org", PING, 10, 1)


class _OneAtATime(BaseHTTPRequestHandler):
    """A server with a known capacity: one request at a time, SERVICE seconds each (~1/SERVICE req/s)."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state: dict

    def log_message(self, *a):
        pass

    def do_GET(self):
        with self.state["lock"]:
            time.sleep(self.state["service"])
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_open_capacity_search_finds_the_knee_of_a_server_of_known_capacity():
    st = {"lock": threading.Lock(), "service": 0.005}           # ~200 req/s at most
    srv, url = _serve(_OneAtATime, st)
    try:
        # the threshold well above a busy machine's scheduling hiccups, far below the overload's queue
        cap = open_capacity_search(url, PING, rates=(40, 100, 600), step_seconds=1.5, p99_ms=150)
    finally:
        srv.shutdown()
        srv.server_close()
    assert cap.model == "open" and cap.load_column == "rate"
    assert list(cap.steps["rate"]) == [40, 100, 600]
    # 100/s is half the capacity: fast; 600/s is three times it: the queue grows by ~400 per second,
    # so after 1.5 s the last requests wait ~3 s
    assert cap.knee is not None and cap.knee["rate"] == 100, cap.steps
    over = cap.steps.iloc[-1]
    assert cap.saturated and over["p99_ms"] > 1000, cap.steps
    # the server cannot answer faster than its capacity, whatever was offered
    assert over["achieved_rps"] < 1 / st["service"] * 1.1


def test_plan_workers_from_a_measured_ceiling():
    p = plan_workers(20_000, 7_000, cores=8)
    assert (p.needed, p.workers, p.bounded) == (3, 3, False)
    p = plan_workers(20_000, 7_000, cores=2)
    assert (p.needed, p.workers, p.bounded) == (3, 2, True)
    assert plan_workers(10, 7_000, cores=2).workers == 1
    with pytest.raises(PerfkitError, match="per-worker ceiling"):
        plan_workers(1000, 0)


def test_bottleneck_verdicts():
    assert bottleneck(0.97, 1, 0.3, 2) == "generator"                       # a Locust process at 97 % of a core
    assert bottleneck(0.2, 2, 0.3, 2, dispatch_lag_p99_ms=40) == "generator"  # the open generator ran late
    assert bottleneck(0.5, 1, 1.9, 2) == "server"
    assert bottleneck(0.6, 1, 1.2, 2, machine_busy=0.97) == "shared CPU"
    assert bottleneck(0.3, 1, 0.4, 2, machine_busy=0.4) == "neither"


def test_cpu_meter_reads_this_process():
    m = CpuMeter(os.getpid()).start()
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    assert 0.5 < m.rate() <= 1.05 * len(os.sched_getaffinity(0))
    assert 0 < m.machine_busy <= 1
    assert CpuMeter().start().rate() != CpuMeter().start().rate()        # NaN: nothing to measure


def test_locust_result_saturation_reads_generating_processes_only():
    import pandas as pd
    from perfkit.lab import LocustResult
    e = pd.DataFrame()
    procs = pd.DataFrame({"role": ["master", "worker", "worker", "server", "machine"],
                          "pid": [1, 2, 3, 4, 0], "cpu_s": [1, 5, 2, 9, float("nan")],
                          "cpu_per_s": [0.95, 0.5, 0.4, 1.9, 0.97]})
    r = LocustResult(e, e, e, e, 0, "", procs)
    assert not r.generator_saturated                       # the master and the server do not count
    assert r.cpu_of("server") == 1.9 and r.cpu_of("machine") == 0.97
    r2 = LocustResult(e, e, e, e, 0, "", procs.assign(cpu_per_s=[0.1, 0.96, 0.4, 0.2, 0.9]))
    assert r2.generator_saturated


def test_capacity_comparison_chart_draws_both_models():
    import pandas as pd
    from perfkit.lab import CapacityResult
    from wordgame_lab import CapacityComparison, capacity_chart, capacity_comparison_chart
    common = {"failures": 0, "generator_cpu_per_s": 0.5, "server_cpu_per_s": 0.7, "bottleneck": "neither"}
    closed = pd.DataFrame([{"users": u, "rps": r, "p50_ms": 1, "p99_ms": p, **common}
                           for u, r, p in ((5, 1000, 3), (20, 2000, 80))])
    opened = pd.DataFrame([{"rate": x, "rps": x, "p50_ms": 1, "p99_ms": p, "p99_send_ms": q, **common}
                           for x, p, q in ((1000, 2, 1), (4000, 300, 40))])
    c = CapacityResult(closed, 50.0, closed.iloc[0], True)
    o = CapacityResult(opened, 50.0, opened.iloc[0], True, "open")
    table = pd.concat([closed.assign(model="closed"), opened.assign(model="open")], ignore_index=True)
    cmp = CapacityComparison(c, o, table, 1000.0, 1000.0, 260.0, 4000.0)
    fig = capacity_comparison_chart(cmp)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    assert list(lines["open: p99 from intended time"].get_ydata()) == [2, 300]
    assert list(lines["open: p99 from actual send"].get_ydata()) == [1, 40]
    assert fig.perfkit_data is table
    assert capacity_chart(o).axes[0].get_xlabel().startswith("arrival rate")


def test_past_max_inflight_arrivals_queue_then_drop(stall_server):
    url, st = stall_server
    rate, T, inflight, queue = 200.0, st["T"], 10, 20
    r = open_load(url, PING, rate, 2.5, max_inflight=inflight, max_queue=queue, timeout=3)
    row = r.as_row()
    assert r.summary["inflight_peak"] == inflight
    # during the stall: `inflight` requests on the wire, `queue` waiting, the rest of the ~rate*T dropped
    due = rate * T
    assert due - inflight - queue - 15 <= row["dropped"] <= due - inflight - queue + 5, row
    assert r.requests.loc[r.requests["error"] == "dropped", "sent"].sum() == 0
    # the queued ones were sent late (send lag up to ~T) but charged from their intended time
    late = r.requests[r.requests["send_lag_ms"] > 100]
    assert len(late) >= queue - 2 and (late["latency_intended_ms"] >= late["send_lag_ms"]).all()
    assert row["dispatch_lag_p99_ms"] < 50                    # the generator itself kept its schedule
