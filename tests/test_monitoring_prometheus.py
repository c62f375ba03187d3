"""A real Prometheus (Debian package `prometheus`) as the oracle of perfkit.metrics' PromQL functions.

Prometheus scrapes a small Python exposition server whose counters grow by
uneven steps and reset once (a restart). perfkit's rate/increase/histogram_quantile
run on the very samples Prometheus stored (read back with a range selector)
and must give Prometheus's numbers.
"""
from __future__ import annotations

import random
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from perfkit import metrics
from perfkit.lab import PrometheusError, PrometheusServer, generate_config

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("prometheus") is None and not Path("/usr/bin/prometheus").exists(),
                                 reason="prometheus missing (Debian: apt-get install prometheus)")]

BOUNDS = ("0.1", "0.5", "1", "+Inf")


class CounterTarget:
    def __init__(self):
        self.rnd = random.Random(7)
        self.n = 0
        self.hits = 0.0
        self.buckets = [0.0] * len(BOUNDS)
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.addr = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def render(self) -> str:
        with self.lock:
            self.n += 1
            if self.n == 9:                                    # a restart: counters start again
                self.hits, self.buckets = 0.0, [0.0] * len(BOUNDS)
            self.hits += self.rnd.randint(1, 9)
            inc = [self.rnd.randint(0, 5) for _ in BOUNDS]
            cum = np.cumsum(inc)
            self.buckets = [b + c for b, c in zip(self.buckets, cum)]
            lines = ["# TYPE hits_total counter", f'hits_total{{path="/x"}} {self.hits}',
                     "# TYPE lat histogram"]
            lines += [f'lat_bucket{{le="{le}"}} {b}' for le, b in zip(BOUNDS, self.buckets)]
            lines += [f"lat_sum {self.buckets[-1] * 0.2}", f"lat_count {self.buckets[-1]}"]
            return "\n".join(lines) + "\n"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


CONFIG = """\
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: counter
    static_configs: [{targets: ["replaced:1"]}]
  - job_name: prometheus
    static_configs: [{targets: ["localhost:9090"]}]
  - job_name: unrelated
    static_configs: [{targets: ["elsewhere:1"]}]
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    p = tmp_path_factory.mktemp("prom") / "prometheus.yml"
    p.write_text(CONFIG)
    return p


def test_generate_config_retargets_one_job_and_drops_the_others(config):
    cfg = generate_config(config, "http://127.0.0.1:4321", job="counter", interval="2s")
    assert [j["job_name"] for j in cfg["scrape_configs"]] == ["counter"]
    assert cfg["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:4321"]}]
    assert cfg["global"]["scrape_interval"] == "2s"
    with pytest.raises(PrometheusError, match="no scrape job named 'api'"):
        generate_config(config, "127.0.0.1:1", job="api")
    with pytest.raises(PrometheusError, match="cannot read"):
        generate_config(config.parent / "missing.yml", "127.0.0.1:1", job="counter")


@pytest.fixture(scope="module")
def prom_on_target(config):
    target = CounterTarget()
    try:
        with PrometheusServer(target.addr, config=config, job="counter", interval="500ms") as prom:
            prom.api.wait_for('hits_total', timeout=30)
            deadline = time.monotonic() + 30
            while target.n < 16 and time.monotonic() < deadline:
                time.sleep(0.25)
            time.sleep(0.6)
            yield prom
    finally:
        target.close()


def _eval_times(prom, window):
    raw = prom.api.query("hits_total[1m]")
    ts = np.sort(raw["timestamp"].unique())
    assert len(ts) >= 14
    # evaluation times between samples, at sample times, and windows holding the reset
    return [round(t, 3) for t in (ts[4] + 0.13, ts[8], ts[9] + 0.21, ts[12] + 0.4, ts[-1] + 0.05)]


@pytest.mark.parametrize("fn", ["rate", "increase"])
def test_rate_and_increase_equal_prometheus_on_its_own_samples(prom_on_target, fn):
    prom = prom_on_target
    window = 3
    checked = 0
    for T in _eval_times(prom, window):
        raw = prom.api.query(f"hits_total[{window}s]", time=T)
        want = prom.api.query(f"{fn}(hits_total[{window}s])", time=T)
        got = getattr(metrics, fn)(raw, window, at=T)
        if want.empty:
            assert got.empty
            continue
        assert got["value"].item() == pytest.approx(want["value"].item(), rel=1e-9)
        checked += 1
    assert checked >= 4
    # the window holding the restart really has a reset
    T = _eval_times(prom, window)[2]
    raw = prom.api.query(f"hits_total[{window}s]", time=T)
    assert metrics.resets(raw)["value"].item() == 1


def test_histogram_quantile_equals_prometheus(prom_on_target):
    prom = prom_on_target
    for T in _eval_times(prom, 3):
        raw = prom.api.query("lat_bucket[3s]", time=T)
        for q in (0.5, 0.9, 0.99):
            want = prom.api.query(f"histogram_quantile({q}, sum by (le) (rate(lat_bucket[3s])))", time=T)
            got = metrics.histogram_quantile(q, metrics.sum_by(metrics.rate(raw, 3, at=T), ["le"]))
            if want.empty or np.isnan(want["value"].item()):
                assert got.empty or np.isnan(got["value"].item())
            else:
                assert got["value"].item() == pytest.approx(want["value"].item(), rel=1e-9), (T, q)


def test_query_range_and_errors(prom_on_target):
    prom = prom_on_target
    now = time.time()
    df = prom.api.query_range("sum(rate(hits_total[2s]))", now - 4, now, step="1s")
    assert {"timestamp", "value"} <= set(df.columns) and 3 <= len(df) <= 5
    with pytest.raises(PrometheusError, match="parse"):
        prom.api.query("rate(hits_total[")
    names = prom.api.label_values()
    assert {"hits_total", "lat_bucket", "lat_count", "up"} <= set(names) and names == sorted(names)
    assert prom.api.label_values("job", match="hits_total") == ["counter"]
    assert prom.api.label_values("path") == ["/x"]
    t = prom.api.targets()
    assert set(t["job"]) == {"counter", "prometheus"} and (t["health"] == "up").all()


def test_server_stops_and_cleans_up(config):
    target = CounterTarget()
    try:
        prom = PrometheusServer(target.addr, config=config, job="counter", interval="1s").start()
        tmp = Path(prom._tmp.name)
        assert prom.alive and tmp.exists()
        assert prom.url.startswith("http://127.0.0.1:")
        prom.stop()
        assert not prom.alive and not tmp.exists()
        assert prom.returncode == 0
    finally:
        target.close()
