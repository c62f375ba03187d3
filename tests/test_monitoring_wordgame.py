"""The wordgame server under a short load, watched by perfkit's scraper and a real Prometheus.

- cross-check: rate and p99 from the scraper's samples (perfkit.metrics) agree
  with PromQL through Prometheus over the same window (tolerances below);
- exact oracle: perfkit's functions on the samples Prometheus stored give
  Prometheus's numbers;
- every recording rule and every dashboard expression returns data;
- a restart is seen by both (counter reset, WordgameRestarted fires).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from perfkit import metrics
from wordgame_lab import WordgameServer, frames, play, wordgame_dashboard_exprs, wordgame_prometheus

#: Tolerances of the cross-check (scraper every 0.5 s vs Prometheus every 1 s:
#: different sample times, so the two estimates differ by load jitter and
#: extrapolation at the window edges).
RATE_RTOL = 0.10          # request rate over a 5 s window: within 10 %
P99_RTOL = 0.35           # p99 over a 5 s window: within 35 % (both interpolate in the same bucket)
WINDOW = 5
LOAD_SECONDS = 8

needs = []
if shutil.which("prometheus") is None and not Path("/usr/bin/prometheus").exists():
    needs.append("prometheus missing (Debian: apt-get install prometheus)")
if not (Path(__file__).resolve().parents[1] / "wordgame" / "go.mod").exists():
    needs.append("the wordgame server (wordgame/go.mod) is missing")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(needs), reason="; ".join(needs))]


@pytest.fixture(scope="module")
def run():
    with WordgameServer() as wg, wordgame_prometheus(wg.admin_url, interval="1s") as prom:
        prom.api.wait_for('up{job="wordgame"} == 1', timeout=30)
        scraper = metrics.Scraper(wg.admin_url, interval=0.5, job="wordgame", keep_text=True).start()
        time.sleep(1.5)
        t0 = time.time()
        reqs = play(wg.url, LOAD_SECONDS, threads=4, rate=150, invalid=0.05, abandon=0.2, seed=1)
        stats = reqs.groupby(["route", "status"]).size().to_dict()
        t1 = time.time()
        scraper.stop(final_scrape=True)
        time.sleep(2.2)                      # Prometheus scrapes the final state and evaluates rules
        yield {"wg": wg, "prom": prom, "df": scraper.frame(), "scraper": scraper, "stats": stats,
               "t0": t0, "t1": t1, "T": round(t1 - 0.6, 3)}


def test_load_happened_and_counters_match_exactly(run):
    df, stats = run["df"], run["stats"]
    assert all(status > 0 for _, status in stats)          # every request was answered
    last = df[df.timestamp == df.timestamp.max()]
    req = metrics.select(last, "wordgame_http_requests_total")
    assert req["value"].sum() == sum(stats.values())
    for (route, code), n in stats.items():
        assert metrics.select(req, route=route, code=str(code))["value"].sum() == n
    started = metrics.select(last, "wordgame_games_started_total")["value"].item()
    assert started == stats[("/new", 200)]
    rejected = metrics.select(last, "wordgame_guesses_total", result="rejected")["value"].item()
    assert rejected >= stats.get(("/guess", 400), 0) > 0


def test_cross_check_rate_and_p99_scraper_vs_prometheus(run):
    df, api, T = run["df"], run["prom"].api, run["T"]
    kit_rate = metrics.sum_by(metrics.rate(df, WINDOW, at=T, metric="wordgame_http_requests_total"))
    prom_rate = api.query(f"sum(rate(wordgame_http_requests_total[{WINDOW}s]))", time=T)
    a, b = kit_rate["value"].item(), prom_rate["value"].item()
    assert a > 100
    assert a == pytest.approx(b, rel=RATE_RTOL), (a, b)

    buckets = metrics.sum_by(metrics.rate(df, WINDOW, at=T, metric="wordgame_http_request_duration_seconds_bucket"),
                             ["le"])
    kit_p99 = metrics.histogram_quantile(0.99, buckets)["value"].item()
    prom_p99 = api.query(f"histogram_quantile(0.99, sum by (le) "
                         f"(rate(wordgame_http_request_duration_seconds_bucket[{WINDOW}s])))", time=T)["value"].item()
    assert 0 < kit_p99 < 5 and 0 < prom_p99 < 5
    assert kit_p99 == pytest.approx(prom_p99, rel=P99_RTOL), (kit_p99, prom_p99)
    print(f"cross-check at T: rate kit={a:.1f}/s prom={b:.1f}/s ({abs(a - b) / b:.1%}); "
          f"p99 kit={kit_p99 * 1e3:.3f} ms prom={prom_p99 * 1e3:.3f} ms ({abs(kit_p99 - prom_p99) / prom_p99:.1%})")


def test_kit_functions_equal_prometheus_on_its_stored_samples(run):
    api, T = run["prom"].api, run["T"]
    raw = api.query(f"wordgame_http_requests_total[{WINDOW}s]", time=T)
    want = api.query(f"rate(wordgame_http_requests_total[{WINDOW}s])", time=T)
    got = metrics.rate(raw, WINDOW, at=T)
    key = ["route", "method", "code"]
    w = want.set_index(key)["value"].sort_index()
    g = got.set_index(key)["value"].sort_index()
    assert list(w.index) == list(g.index)
    assert np.allclose(g.to_numpy(), w.to_numpy(), rtol=1e-9)
    raw = api.query(f"wordgame_http_request_duration_seconds_bucket[{WINDOW}s]", time=T)
    for q in (0.5, 0.99):
        want = api.query(f"histogram_quantile({q}, sum by (route, le) "
                         f"(rate(wordgame_http_request_duration_seconds_bucket[{WINDOW}s])))", time=T)
        got = metrics.histogram_quantile(q, metrics.sum_by(metrics.rate(raw, WINDOW, at=T), ["route", "le"]))
        w = want.set_index("route")["value"].sort_index()
        g = got.set_index("route")["value"].sort_index()
        assert np.allclose(g.to_numpy(), w.to_numpy(), rtol=1e-9)


def test_red_and_game_frames(run):
    df, T = run["df"], run["T"]
    red = frames.red(df, WINDOW, at=T).set_index("route")
    assert {"/new", "/guess"} <= set(red.index)
    assert (red["requests_per_s"] > 0).all() and (red["error_ratio"] == 0).all()
    assert (red["p50"] <= red["p90"]).all() and (red["p90"] <= red["p99"]).all()
    g = frames.games(df, WINDOW, at=T)
    assert g["started_per_s"].item() > 0 and g["won_per_s"].item() + g["lost_per_s"].item() > 0
    assert g["guesses_rejected_per_s"].item() > 0 and g["active"].item() > 0
    rt = frames.runtime(df)
    assert (rt["goroutines"] > 0).all() and (rt["up"] == 1).all()


def test_recording_rules_healthy_and_not_empty(run):
    api = run["prom"].api
    rules = api.rules()
    assert (rules["health"] == "ok").all(), rules[rules["health"] != "ok"]
    for name in rules[rules["type"] == "recording"]["name"]:
        df = api.query(name)
        assert len(df) >= 1, f"{name} is empty"
    ratio = api.query("wordgame:slo_errors:ratio_rate1m")["value"].item()
    assert ratio == 0.0                                   # no 5xx in this run, and 0 rather than empty
    firing = api.alerts()
    assert firing.empty or not firing["alertname"].isin(
        ["WordgameInstanceDown", "WordgameErrorRatioAboveSLO", "WordgameRestarted", "WordgameLatencyBudgetBurn"]).any()


def test_every_dashboard_expression_returns_data(run):
    api, T = run["prom"].api, run["T"]
    exprs = wordgame_dashboard_exprs(rate_interval="5s")
    assert len(exprs) >= 20
    for title, ref, expr in exprs:
        df = api.query(expr, time=T)
        assert len(df) >= 1, f"panel {title!r} {ref}: {expr} returned nothing"
        assert not df["value"].isna().all(), f"panel {title!r} {ref}: {expr} is NaN"


def test_saved_scrape_rerenders_the_same_frames(run, tmp_path):
    df, T, scraper = run["df"], run["T"], run["scraper"]
    p = scraper.save(tmp_path / "scrape.csv")
    back = metrics.read_scrape(p)
    a, b = frames.red(df, WINDOW, at=T), frames.red(back, WINDOW, at=T)
    assert np.allclose(a["requests_per_s"], b["requests_per_s"]) and np.allclose(a["p99"], b["p99"])
    texts = metrics.read_scrape(scraper.save(tmp_path / "texts", format="text"))
    c = frames.red(texts, WINDOW, at=T)
    assert np.allclose(a["requests_per_s"], c["requests_per_s"], rtol=1e-6)


def test_restart_is_seen_by_scraper_and_prometheus(run):
    """Runs last: restarts the server on the same ports."""
    wg, api = run["wg"], run["prom"].api
    before = api.query('process_start_time_seconds{job="wordgame"}')["value"].item()
    with metrics.Scraper(wg.admin_url, interval=0.25) as s:
        play(wg.url, 1.0, threads=2, rate=50)
        time.sleep(0.3)
        wg.restart()
        play(wg.url, 1.0, threads=2, rate=50)
        time.sleep(0.5)
    df = s.frame()
    req = metrics.sum_by(metrics.select(df, "wordgame_http_requests_total"), [])
    series = metrics.select(df, "wordgame_games_started_total")
    assert metrics.resets(series)["value"].item() == 1
    assert metrics.reset_adjusted(series).sort_values("timestamp")["value"].is_monotonic_increasing
    assert len(req) > 4
    assert len(metrics.select(df, "process_start_time_seconds")["value"].unique()) == 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        a = api.alerts()
        if not a.empty and ((a["alertname"] == "WordgameRestarted") & (a["state"] == "firing")).any():
            break
        time.sleep(0.5)
    else:
        pytest.fail("WordgameRestarted did not fire after a restart")
    after = api.query('process_start_time_seconds{job="wordgame"}')["value"].item()
    assert after > before
