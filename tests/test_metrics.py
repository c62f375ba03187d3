"""perfkit.metrics without any external service: parsing, PromQL functions, scraper, saved scrapes."""
from __future__ import annotations

import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from perfkit import metrics
from perfkit.metrics import ScrapeError

EXPO = """\
# HELP req_total Requests.
# TYPE req_total counter
req_total{route="/new",code="200"} 10
req_total{route="/guess",code="500"} 2
# HELP temp A gauge.
# TYPE temp gauge
temp 21.5
# TYPE lat_seconds histogram
lat_seconds_bucket{route="/new",le="0.1"} 5
lat_seconds_bucket{route="/new",le="0.5"} 9
lat_seconds_bucket{route="/new",le="+Inf"} 10
lat_seconds_sum{route="/new"} 1.5
lat_seconds_count{route="/new"} 10
# TYPE gc_seconds summary
gc_seconds{quantile="0.5"} 0.001
gc_seconds{quantile="1"} 0.004
gc_seconds_sum 0.02
gc_seconds_count 12
# TYPE mystery untyped
mystery{kind="x"} 7
no_type_line 3
"""


def frame(samples, metric="c_total", typ="counter", **labels):
    """A tidy frame from [(timestamp, value), ...]."""
    rows = [{"timestamp": t, "instance": "i", "job": "j", "metric": metric, "family": metric, "type": typ,
             **labels, "value": v} for t, v in samples]
    return metrics.normalize(pd.DataFrame(rows))


# -- parsing ----------------------------------------------------------------
def test_parse_every_type_into_a_tidy_frame():
    df = metrics.tidy(metrics.parse_exposition(EXPO, timestamp=100.0, instance="h:1", job="wg"))
    assert list(df.columns[:6]) == ["timestamp", "instance", "job", "metric", "family", "type"]
    assert df.columns[-1] == "value"
    assert {"route", "code", "le", "quantile", "kind"} <= set(df.columns)
    assert (df["timestamp"] == 100.0).all() and (df["instance"] == "h:1").all() and (df["job"] == "wg").all()
    types = df.groupby("metric")["type"].first().to_dict()
    assert types["req_total"] == "counter"
    assert types["temp"] == "gauge"
    assert types["lat_seconds_bucket"] == types["lat_seconds_sum"] == types["lat_seconds_count"] == "histogram"
    assert types["gc_seconds"] == types["gc_seconds_count"] == "summary"
    assert types["mystery"] == types["no_type_line"] == "untyped"
    inf = df[(df.metric == "lat_seconds_bucket") & (df["le"] == "+Inf")]
    assert inf["value"].tolist() == [10.0]
    # labels a sample does not have are "" (as in Prometheus), never NaN
    assert df.loc[df.metric == "temp", "route"].tolist() == [""]
    assert not df.drop(columns="value").isna().any().any()
    assert len(df) == 14


def test_durations():
    assert metrics.seconds("1m30s") == 90
    assert metrics.seconds("500ms") == 0.5
    assert metrics.seconds(2) == 2.0
    assert metrics.format_duration(90) == "1m30s"
    assert metrics.format_duration(0.25) == "250ms"
    with pytest.raises(ValueError):
        metrics.seconds("5 minutes")


# -- rate / increase: Prometheus's extrapolatedRate --------------------------
def test_rate_whole_window_covered():
    df = frame([(t, float(t)) for t in range(0, 61, 10)])
    assert metrics.rate(df, 60, at=60)["value"].item() == pytest.approx(1.0)
    assert metrics.increase(df, "1m", at=60)["value"].item() == pytest.approx(60.0)


def test_rate_counter_reset_adds_the_value_before_the_drop():
    df = frame([(0, 0.0), (10, 10.0), (20, 20.0), (30, 5.0), (40, 15.0)])
    assert metrics.increase(df, 40, at=40)["value"].item() == pytest.approx(35.0)
    assert metrics.rate(df, 40, at=40)["value"].item() == pytest.approx(35.0 / 40)
    assert metrics.resets(df)["value"].item() == 1
    adj = metrics.reset_adjusted(df)
    assert adj["value"].tolist() == [0.0, 10.0, 20.0, 25.0, 35.0]


def test_extrapolation_to_window_edges_and_zero():
    # samples 5 s from each edge (< 1.1 x 10 s interval): extrapolated to the edges;
    # towards the start it stops where the counter would have been zero (5 s back).
    df = frame([(5, 5.0), (15, 15.0), (25, 25.0), (35, 35.0)])
    assert metrics.increase(df, 40, at=40)["value"].item() == pytest.approx(40.0)
    # first sample 20 s after the window start (> 1.1 intervals): only half an interval
    df = frame([(20, 100.0), (30, 110.0)])
    assert metrics.increase(df, 60, at=60)["value"].item() == pytest.approx(20.0)
    # a single sample in the window: no result
    assert metrics.rate(df, 5, at=30).empty


def test_rate_window_bounds_compat():
    df = frame([(t, float(t)) for t in range(0, 61, 10)])
    # Prometheus 2: [t-range, t] includes the sample at t-range; Prometheus 3: (t-range, t]
    assert metrics.increase(df, 20, at=60, compat=2)["value"].item() == pytest.approx(20.0)
    v3 = metrics.increase(df, 20, at=60, compat=3)["value"].item()
    assert v3 == pytest.approx(20.0)      # 1 interval seen, extrapolated over the 10 s gap
    assert len(metrics.rate(df, 10, at=60, compat=3)) == 0


def test_rate_by_step_and_per_series():
    a = frame([(t, 2.0 * t) for t in range(0, 31)], route="/a")
    b = frame([(t, 3.0 * t) for t in range(0, 31)], route="/b")
    df = pd.concat([a, b], ignore_index=True)
    r = metrics.rate(df, 10, step=5)
    assert sorted(r["timestamp"].unique()) == [10.0, 15.0, 20.0, 25.0, 30.0]
    assert np.allclose(r[r.route == "/a"]["value"], 2.0)
    assert np.allclose(r[r.route == "/b"]["value"], 3.0)
    s = metrics.sum_by(r, [])
    assert np.allclose(s["value"], 5.0) and list(s.columns) == ["timestamp", "value"]
    s = metrics.sum_by(r, ["route"])
    assert set(s["route"]) == {"/a", "/b"}
    assert metrics.aggregate_series(r, [], "max")["value"].tolist() == [3.0] * 5


# -- histogram_quantile ------------------------------------------------------
@pytest.mark.parametrize("q, want", [(0.5, 0.1), (0.7, 0.3), (0.9, 0.5), (0.99, 0.5), (0.0, 0.0),
                                     (-1, -math.inf), (2, math.inf)])
def test_bucket_quantile(q, want):
    assert metrics.bucket_quantile(q, [0.1, 0.5, math.inf], [50, 90, 100]) == pytest.approx(want)


def test_bucket_quantile_edge_cases():
    assert math.isnan(metrics.bucket_quantile(0.5, [0.1, 0.5], [1, 2]))            # no +Inf bucket
    assert math.isnan(metrics.bucket_quantile(0.5, [0.1, math.inf], [0, 0]))       # no observations
    assert math.isnan(metrics.bucket_quantile(0.5, [math.inf], [3]))               # one bucket
    # non-monotonic counts are forced monotonic, as Prometheus does
    assert metrics.bucket_quantile(0.5, [0.1, 0.5, math.inf], [60, 50, 100]) == pytest.approx(
        metrics.bucket_quantile(0.5, [0.1, 0.5, math.inf], [60, 60, 100]))


def test_histogram_quantile_over_bucket_rates():
    rows = []
    for le, per_s in (("0.1", 50), ("0.5", 90), ("+Inf", 100)):
        rows += [{"timestamp": t, "instance": "i", "job": "j", "metric": "lat_bucket", "family": "lat",
                  "type": "histogram", "route": "/new", "le": le, "value": per_s * t} for t in range(0, 21)]
    df = metrics.normalize(pd.DataFrame(rows))
    buckets = metrics.sum_by(metrics.rate(df, 10, step=5), ["le", "route"])
    q = metrics.histogram_quantile(0.9, buckets)
    assert list(q.columns) == ["timestamp", "route", "value"]
    assert np.allclose(q["value"], 0.5)
    assert np.allclose(metrics.histogram_quantile(0.7, buckets)["value"], 0.3)


# -- scraper against a local exposition server ------------------------------
class _Target:
    """A tiny /metrics server whose counter can be advanced and reset (a restart)."""

    def __init__(self):
        self.count = 0.0
        self.start_time = 1000.0
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.count += 1
                    c, st = outer.count, outer.start_time
                body = (f"# TYPE hits_total counter\nhits_total{{path=\"/x\"}} {c}\n"
                        f"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {st}\n"
                        f"# TYPE lat histogram\nlat_bucket{{le=\"1\"}} {c}\nlat_bucket{{le=\"+Inf\"}} {c}\n"
                        f"lat_sum {c / 2}\nlat_count {c}\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def restart(self):
        with self.lock:
            self.count = 0.0
            self.start_time += 100

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def target():
    t = _Target()
    yield t
    t.close()


def test_scraper_duration_bound(target):
    t0 = time.monotonic()
    df = metrics.scrape(target.url, duration=1.0, interval=0.2)
    took = time.monotonic() - t0
    assert 0.9 < took < 3
    ts = sorted(df["timestamp"].unique())
    assert 5 <= len(ts) <= 7
    assert np.diff(ts).min() > 0.1
    assert set(df["instance"]) == {target.url.split("//")[1]}
    assert (df[df.metric == "up"]["value"] == 1).all()
    assert {"hits_total", "lat_bucket", "lat_count", "up", "scrape_duration_seconds"} <= set(df["metric"])


def test_scraper_context_manager_down_target_and_restart(target):
    with socket_free_port() as dead:
        with metrics.Scraper([target.url, f"127.0.0.1:{dead}"], interval=0.1, timeout=0.5) as s:
            time.sleep(0.45)
            target.restart()                 # counters drop to 0: a process restart
            time.sleep(0.45)
    assert not s.running
    df = s.frame()
    up = df[df.metric == "up"].groupby("instance")["value"].agg(["min", "max"])
    assert up.loc[f"127.0.0.1:{dead}"].tolist() == [0.0, 0.0]
    assert up.loc[target.url.split("//")[1]].tolist() == [1.0, 1.0]
    assert s.errors and all(inst == f"127.0.0.1:{dead}" for _, inst, _ in s.errors)
    hits = metrics.select(df, "hits_total")
    assert metrics.resets(hits)["value"].item() == 1
    adj = metrics.reset_adjusted(hits)
    assert adj.sort_values("timestamp")["value"].is_monotonic_increasing
    # the counter grows by one per scrape: rate stays ~1 per interval across the restart
    r = metrics.rate(hits, 0.8)
    assert r["value"].item() == pytest.approx(10.0, rel=0.35)
    starts = metrics.select(df, "process_start_time_seconds")["value"].unique()
    assert len(starts) == 2


class socket_free_port:
    def __enter__(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *a):
        pass


# -- saved scrapes -----------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_save_and_read_frame(target, tmp_path, fmt):
    if fmt == "parquet" and not metrics.have_parquet():
        pytest.skip("pyarrow not installed: parquet is optional")
    s = metrics.Scraper(target.url, 0.1, duration=0.3)
    df = s.run()
    p = s.save(tmp_path / f"scrape.{fmt}")
    back = metrics.read_scrape(p)
    pd.testing.assert_frame_equal(back, df)


def test_save_and_read_exposition_directory(target, tmp_path):
    s = metrics.Scraper(target.url, 0.1, duration=0.3, keep_text=True)
    df = s.run()
    d = s.save(tmp_path / "texts", format="text")
    files = sorted(d.rglob("*.prom"))
    assert len(files) == df["timestamp"].nunique()
    back = metrics.read_scrape(d, job="wordgame")
    real = df[~df.metric.isin(["up", "scrape_duration_seconds"])].reset_index(drop=True)
    assert len(back) == len(real)
    # timestamps survive to the millisecond (they are in the file names)
    assert np.allclose(np.sort(back["timestamp"].unique()), np.sort(real["timestamp"].unique()), atol=1e-3)
    key = ["metric", "le", "path"]
    a = back.sort_values(["timestamp", *key])[key + ["value"]].reset_index(drop=True)
    b = real.sort_values(["timestamp", *key])[key + ["value"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # ready-made functions work on the reloaded data
    assert metrics.rate(back, 1, metric="hits_total")["value"].item() > 0


def test_read_single_exposition_file_and_errors(tmp_path):
    f = tmp_path / "1700000000000.prom"
    f.write_text(EXPO)
    df = metrics.read_scrape(f)
    assert (df["timestamp"] == 1_700_000_000.0).all()
    with pytest.raises(ScrapeError):
        metrics.read_scrape(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "1.prom").write_text("this is { not exposition\n")
    with pytest.raises(ScrapeError):
        metrics.read_scrape(bad)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ScrapeError):
        metrics.read_scrape(tmp_path / "x.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScrapeError):
        metrics.read_scrape(empty)


def test_without_pyarrow_csv_is_the_default(target, tmp_path, monkeypatch):
    from perfkit.metrics import saved
    monkeypatch.setattr(saved, "have_parquet", lambda: False)
    s = metrics.Scraper(target.url, 0.1, duration=0.2)
    df = s.run()
    p = s.save(tmp_path / "scrape")                     # no suffix, format auto: CSV
    pd.testing.assert_frame_equal(pd.read_csv(p, dtype=str, keep_default_na=False).pipe(
        lambda d: metrics.normalize(d.assign(timestamp=pd.to_numeric(d.timestamp)))), df)
    with pytest.raises(ScrapeError, match="pyarrow"):
        s.save(tmp_path / "scrape.parquet")
