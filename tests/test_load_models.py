"""The wordgame server under both load models: the open-model scenario and its pool, generator ceilings
(Locust per process against wrk on POST /new), a distributed run sized by them, and the CLI's
``capacity --model open``. Short runs, marked slow."""
from __future__ import annotations

import json
import shutil

import pytest

from perfkit.cli import main as perfkit_main
from wordgame_lab import WordgameServer, distributed_load, generator_ceilings, open_wordgame

pytestmark = [pytest.mark.slow, pytest.mark.serial]     # rates and ceilings: run alone


@pytest.fixture(scope="module")
def server():
    with WordgameServer(args=["-game-ttl", "30s"]) as s:
        yield s


def test_the_wordgame_scenario_plays_games(server):
    r = open_wordgame(server.url, 400, 2, server_pid=server.pid, admin_url=server.admin_url)
    req = r.requests
    assert req["ok"].all(), req[~req["ok"]].head()
    by = req["template"].value_counts()
    # ids go round the pool: most arrivals are guesses on games that /new started
    assert by["/guess"] > by["/new"] > 0, by
    assert r.server_cpu_per_s > 0 and r.as_row()["bottleneck"] in {"neither", "shared CPU", "generator", "server"}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed")
def test_generator_ceilings_wrk_against_locust(server):
    g = generator_ceilings(server.url, 4, users=16, connections=16, workers=0).set_index("generator")
    assert list(g.index) == ["wrk", "locust"]
    # wrk (C, one event loop) sends more per process than a Python process can
    assert g.at["wrk", "rps"] > g.at["locust", "rps"] > 100, g.to_dict("records")
    assert g.at["locust", "generator_cpu_per_s"] > 0.1 and g["failures"].sum() == 0, g


def test_distributed_run_sized_by_measurement(server):
    d = distributed_load(server.url, 600, 400, 4, users_per_worker=4, server_pid=server.pid)
    assert (d.plan.needed, d.plan.workers) == (2, min(2, d.plan.cores))
    p = d.load.processes
    assert list(p["role"]) == ["master"] + ["worker"] * d.plan.workers + ["server", "machine"], p
    assert (p["cpu_s"].iloc[:-2] > 0).all() and d.server_cpu_per_s > 0 and 0 < d.machine_busy <= 1, p
    assert d.achieved_rps > 0.5 * 600 and d.load.summary()["failures"] == 0
    assert d.bottleneck in {"generator", "server", "shared CPU", "neither"}
    assert json.dumps(d.as_dict())


def test_cli_capacity_open_model(server, capsys):
    rc = perfkit_main(["wordgame", "capacity", server.url, "--model", "open", "--steps", "200,400",
                       "--step-seconds", "1", "--admin-url", server.admin_url])
    out = capsys.readouterr().out
    assert rc == 0
    res = json.loads(out.strip().splitlines()[-1])
    assert res["model"] == "open" and res["knee"]["rate"] == 400 and not res["saturated"], out
