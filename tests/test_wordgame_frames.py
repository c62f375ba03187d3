"""wordgame_lab's RED and game frames on synthetic samples (expected values from the synthetic rates)."""
from __future__ import annotations

import pandas as pd
import pytest

from perfkit import metrics
from wordgame_lab import frames


def test_red_and_games_frames_on_synthetic_data():
    rows = []
    for t in range(0, 31):
        for route, code, per_s in (("/new", "200", 10), ("/guess", "200", 50), ("/guess", "500", 1)):
            rows.append(dict(metric="wordgame_http_requests_total", type="counter", route=route, method="POST",
                             code=code, timestamp=t, value=per_s * t))
        for route in ("/new", "/guess"):
            for le, frac in (("0.001", 0.9), ("0.1", 0.99), ("+Inf", 1.0)):
                rows.append(dict(metric="wordgame_http_request_duration_seconds_bucket", type="histogram",
                                 route=route, method="POST", le=le, timestamp=t, value=100 * frac * t))
        rows.append(dict(metric="wordgame_games_started_total", type="counter", timestamp=t, value=10 * t))
        rows.append(dict(metric="wordgame_games_finished_total", type="counter", result="won", timestamp=t, value=6 * t))
        rows.append(dict(metric="wordgame_games_finished_total", type="counter", result="lost", timestamp=t, value=3 * t))
        rows.append(dict(metric="wordgame_games_active", type="gauge", timestamp=t, value=float(t)))
    df = metrics.normalize(pd.DataFrame(rows))
    red = frames.red(df, "10s", step="10s")
    last = red[red.timestamp == 30].set_index("route")
    assert last.loc["/guess", "requests_per_s"] == pytest.approx(51)
    assert last.loc["/guess", "errors_per_s"] == pytest.approx(1)
    assert last.loc["/guess", "error_ratio"] == pytest.approx(1 / 51)
    assert last.loc["/new", "error_ratio"] == 0
    assert last.loc["/new", "p99"] == pytest.approx(0.1)
    assert last.loc["/new", "p50"] == pytest.approx(0.001 * 50 / 90)
    g = frames.games(df, "10s", step="10s").set_index("timestamp")
    assert g.loc[30, "started_per_s"] == pytest.approx(10)
    assert g.loc[30, "won_per_s"] == pytest.approx(6)
    assert g.loc[30, "lost_per_s"] == pytest.approx(3)
    assert g.loc[30, "active"] == 30


def test_red_without_errors_and_an_idle_step_is_nan_not_a_crash():
    # only 200s, and the counter stops moving after t=10: the error ratio of the idle steps is 0/0
    rows = [dict(metric="wordgame_http_requests_total", type="counter", route="/new", method="POST", code="200",
                 timestamp=t, value=5 * min(t, 10)) for t in range(0, 31)]
    red = frames.red(metrics.normalize(pd.DataFrame(rows)), "5s", step="5s", quantiles=()).set_index("timestamp")
    assert red.loc[10, "requests_per_s"] == pytest.approx(5) and red.loc[10, "error_ratio"] == 0
    assert red.loc[30, "requests_per_s"] == 0 and pd.isna(red.loc[30, "error_ratio"])
