"""monitoring/: promtool checks and unit tests, rule conventions, dashboard and compose validation."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from perfkit.errors import OptionError
from perfkit.lab import (PromtoolError, burn_rate_tiers, dashboard_exprs, find_prometheus_tool, generate_config,
                         load_dashboard, promtool_check)
from wordgame_lab import check_monitoring, monitoring_dir, wordgame_alerts, wordgame_burn_rates
from wordgame_lab.monitor import dashboard_path, prometheus_config

MON = monitoring_dir()

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None and not Path("/usr/bin/promtool").exists(),
                                reason="promtool missing (Debian: apt-get install prometheus)")


def test_promtool_check_config_rules_and_unit_tests():
    results = check_monitoring()
    assert [r.command[:2] for r in results] == [["check", "config"], ["check", "rules"], ["test", "rules"]]
    assert all(r.ok for r in results)
    assert "SUCCESS" in results[2].output


def test_promtool_check_fails_on_a_broken_expectation(tmp_path):
    d = tmp_path / "monitoring"
    shutil.copytree(MON, d, ignore=shutil.ignore_patterns("grafana"))
    t = d / "tests" / "alerts_test.yml"
    doc = yaml.safe_load(t.read_text())
    doc["tests"] = [doc["tests"][0]]                 # the instance-down case only: fast
    case = doc["tests"][0]["alert_rule_test"][-1]
    assert case["eval_time"] == "9m" and case["exp_alerts"] == []
    case["eval_time"] = "4m"                         # still down then: the alert fires
    t.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(PromtoolError, match="test rules"):
        check_monitoring(d)
    res = check_monitoring(d, raise_on_error=False)
    assert [r.ok for r in res] == [True, True, False]
    assert "WordgameInstanceDown" in res[2].output


def _alerts():
    groups = yaml.safe_load((MON / "rules" / "alerts.yml").read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def _recording():
    groups = yaml.safe_load((MON / "rules" / "recording.yml").read_text())["groups"]
    return {r["record"]: (g["name"], r["expr"]) for g in groups for r in g["rules"]}


def _cases():
    tests = yaml.safe_load((MON / "tests" / "alerts_test.yml").read_text())["tests"]
    return [(t, c) for t in tests for c in t.get("alert_rule_test", [])]


BURN_ALERTS = {f"Wordgame{slo}Burn{w}" for slo in ("Availability", "Latency") for w in ("1h", "6h", "3d")}


def test_every_alert_has_a_firing_and_a_not_firing_unit_test():
    cases = [c for _, c in _cases()]
    names = {a["alert"] for a in _alerts()}
    assert BURN_ALERTS | {"WordgameInstanceDown", "WordgameTargetAbsent", "WordgameRequestMetricsAbsent",
                          "WordgameActiveGamesLeak", "WordgameGamesNearCapacity", "WordgameGamesRejected",
                          "WordgameGoroutinesGrowing", "WordgameRestarted"} == names
    assert not {c["alertname"] for c in cases} - names            # no case for an alert that does not exist
    for name in names:
        fired = [c for c in cases if c["alertname"] == name and c.get("exp_alerts")]
        quiet = [c for c in cases if c["alertname"] == name and not c.get("exp_alerts")]
        assert fired and quiet, f"{name} needs a firing and a not-firing test case"
    for a in _alerts():
        assert a["labels"]["severity"] in ("page", "ticket")
        assert a["annotations"]["summary"] and a["annotations"]["description"]


def test_leak_alert_stays_silent_for_hours_after_a_restart():
    """A unit-test case restarts the server (the oldest idle game drops to 0) with active games
    rising for hours, and the leak alert stays silent 3 h and more after it."""
    restarts = []
    for test, case in _cases():
        series = {s["series"].split("{")[0]: s["values"] for s in test["input_series"]}
        if case["alertname"] != "WordgameActiveGamesLeak" or case["exp_alerts"]:
            continue
        if " 0+" in series.get("wordgame_games_oldest_idle_seconds", "") and "wordgame_games_active" in series:
            restarts.append(int(case["eval_time"].removesuffix("m")))
    assert max(restarts) >= 180, restarts
    leak = next(a for a in _alerts() if a["alert"] == "WordgameActiveGamesLeak")
    assert "wordgame_games_oldest_idle_seconds" in leak["expr"] and "wordgame_game_ttl_seconds" in leak["expr"]
    assert "wordgame_games_active" not in leak["expr"]           # the gauge that rises for a TTL after a start


def test_the_three_burn_rate_tiers_of_the_sre_workbook_for_both_slos():
    tiers = wordgame_burn_rates()
    assert set(tiers["alert"]) == BURN_ALERTS and len(tiers) == 6
    # Google SRE workbook, ch. 5, table 5-8: burn rate, long and short window, budget spent, severity
    workbook = {(14.4, "1h", "5m", 0.02, "page"), (6.0, "6h", "30m", 0.05, "page"), (1.0, "3d", "6h", 0.10, "ticket")}
    for slo, objective in (("availability", 0.999), ("latency", 0.99)):
        t = tiers[tiers["slo"] == slo]
        assert {(r.burn_rate, r.long_window, r.short_window, round(r.budget_spent, 6), r.severity)
                for r in t.itertuples()} == workbook, slo
        assert np.allclose(t["objective"], objective)
    fast = tiers.set_index("alert").loc["WordgameAvailabilityBurn1h"]
    assert fast["exhausted_in_s"] == pytest.approx(50 * 3600)     # 30 d / 14.4
    assert fast["total_outage_detected_in_s"] == pytest.approx(0.0144 * 3600)
    for a in _alerts():
        if a["alert"] in BURN_ALERTS:
            assert "for" not in a, f"{a['alert']}: the long window already does the job of for:"
        else:                                        # the single-threshold error ratio alert is gone
            assert "slo_errors" not in a["expr"] and "slo_latency" not in a["expr"], a["alert"]


def test_burn_rate_tiers_reads_sre_style_expressions(tmp_path):
    f = tmp_path / "alerts.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"alert": "Both", "labels": {"severity": "page"},
         "expr": "(job:err:ratio_rate1h > (14.4*0.0005) and job:err:ratio_rate5m > (14.4*0.0005)) or "
                 "(job:err:ratio_rate6h > (6 * 0.0005) and job:err:ratio_rate30m > (6 * 0.0005))"},
        {"alert": "Plain", "expr": "up == 0"},
        {"record": "job:err:ratio_rate5m", "expr": "vector(0)"}]}]}))
    t = burn_rate_tiers([f], period="28d")
    assert list(t["alert"]) == ["Both", "Both"] and list(t["burn_rate"]) == [14.4, 6.0]
    assert list(t["long_window"]) == ["1h", "6h"] and list(t["short_window"]) == ["5m", "30m"]
    assert t["budget_spent"].tolist() == pytest.approx([14.4 / (28 * 24), 36 / (28 * 24)])
    assert t["objective"].tolist() == pytest.approx([0.9995, 0.9995])
    assert t["exhausted_in"].tolist() == ["46.7 h", "4.67 d"]
    with pytest.raises(OptionError, match="period"):
        burn_rate_tiers([f], period="a month")


def test_slis_count_the_public_api_only_and_no_response_as_bad():
    rec = _recording()
    slo = {n: e for n, (g, e) in rec.items() if g.startswith("wordgame-slo")}
    for name, expr in slo.items():
        for sel in re.findall(r"wordgame_http_[a-z_]+\{([^}]*)\}", expr):
            assert 'route=~"/new|/guess"' in sel and 'method!="OPTIONS"' in sel, (name, sel)
    for name in ("wordgame:slo_errors:rate5m", "wordgame:slo_errors:ratio_rate30m", "wordgame:slo_errors:ratio_rate1h"):
        assert 'code=~"5..|none"' in slo[name], name
    for sli in ("slo_errors", "slo_latency_errors"):
        for w in ("5m", "30m", "1h", "6h", "3d"):
            assert f"wordgame:{sli}:ratio_rate{w}" in rec, (sli, w)
    # long windows read the recorded 5m rates, never a raw counter over 6h or 3d
    for name, (_, expr) in rec.items():
        for metric, window in re.findall(r"([a-z0-9_:]+)(?:\{[^}]*\})?\[(6h|3d)\]", expr):
            assert ":" in metric and metric.endswith(":rate5m"), (name, metric, window)


def test_alert_table_counts_the_unit_test_cases():
    table = wordgame_alerts().set_index("alert")
    assert set(table.index) == {a["alert"] for a in _alerts()}
    cases = [c for _, c in _cases()]
    for name, row in table.iterrows():
        assert row["tests firing"] == sum(1 for c in cases if c["alertname"] == name and c.get("exp_alerts"))
        assert row["tests silent"] == sum(1 for c in cases if c["alertname"] == name and not c.get("exp_alerts"))
        assert row["severity"] in ("page", "ticket")
    assert table.loc["WordgameGamesNearCapacity", "for"] == "15m" and table.loc["WordgameAvailabilityBurn1h", "for"] == ""


def test_promtool_check_needs_something_to_check():
    with pytest.raises(PromtoolError, match="nothing to check"):
        promtool_check()


def test_recording_rule_names_and_windows():
    names = list(_recording())
    assert all(re.fullmatch(r"wordgame:[a-z0-9_]+:[a-z0-9_]+", n) for n in names), names
    for n in ("wordgame:http_requests:rate1m", "wordgame:http_requests:rate5m",
              "wordgame:slo_errors:ratio_rate5m", "wordgame:slo_errors:ratio_rate3d",
              "wordgame:slo_latency_errors:ratio_rate5m", "wordgame:slo_latency_errors:ratio_rate1h"):
        assert n in names
    # every recorded series the alerts use exists
    used = {m for a in _alerts() for m in re.findall(r"wordgame:[a-z0-9_]+:[a-z0-9_]+", a["expr"])}
    assert used <= set(names)


def test_generated_test_config():
    cfg = generate_config(prometheus_config(), "http://127.0.0.1:4321", job="wordgame", interval="1s",
                          self_address="127.0.0.1:9999")
    assert cfg["global"]["scrape_interval"] == "1s" and cfg["global"]["evaluation_interval"] == "1s"
    assert "alerting" not in cfg
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert jobs["wordgame"]["static_configs"] == [{"targets": ["127.0.0.1:4321"]}]
    assert "scrape_interval" not in jobs["wordgame"]
    assert all(Path(r).is_absolute() and Path(r).exists() for r in cfg["rule_files"])
    canonical = yaml.safe_load((MON / "prometheus.yml").read_text())
    assert canonical["scrape_configs"][0]["static_configs"][0]["targets"] == ["wordgame:8081"]


def test_dashboard_covers_the_required_panels_and_every_expr_parses(tmp_path):
    d = load_dashboard(dashboard_path())
    titles = " | ".join(p["title"] for p in d["panels"])
    for want in ("Requests per second by route", "Latency heatmap", "Latency by route", "Games started",
                 "Active games", "evicted", "Goroutines", "Heap in use", "GC pause", "burn rate",
                 "Capacity rejections", "Active games vs -max-games", "Oldest idle game vs TTL"):
        assert want in titles, want
    assert any(p["type"] == "heatmap" for p in d["panels"])
    by_title = {p["title"]: p for p in d["panels"]}
    assert [t["expr"].split("{")[0] for t in by_title["Heap in use"]["targets"]][0] == "go_memstats_heap_inuse_bytes"
    # $job is a query variable over the job label of a series every build exports (even -metrics=false)
    job = next(v for v in d["templating"]["list"] if v["name"] == "job")
    assert job["type"] == "query" and job["definition"] == "label_values(wordgame_build_info, job)"
    assert job["query"]["query"] == job["definition"]
    # every selector of every panel honours $job (the burn-rate panels included)
    raw = dashboard_exprs(d, rate_interval="1m", variables={"job": "$job"})
    for title, ref, expr in raw:
        sels = re.findall(r"\b((?:wordgame|go|process)[_:][A-Za-z0-9_:]*|up)\b(\{[^}]*\})?", expr)
        assert sels, (title, expr)
        for metric, labels in sels:
            assert 'job="$job"' in labels, (title, ref, metric)
    burn = [e for t, _, e in raw if "burn rate" in t]
    assert {w for e in burn for w in re.findall(r"ratio_rate(\w+)\{", e)} == {"5m", "30m", "1h", "6h", "3d"}
    exprs = dashboard_exprs(d, rate_interval="1m")
    assert len(exprs) >= 20
    assert not any("$" in e for _, _, e in exprs)
    # promtool parses every expression (as recording rules): no syntax errors
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:expr:{i}", "expr": e}
                                                        for i, (_, _, e) in enumerate(exprs)]}]}
    f = tmp_path / "dashboard_rules.yml"
    f.write_text(yaml.safe_dump(rules))
    r = subprocess.run([find_prometheus_tool("promtool"), "check", "rules", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_grafana_provisioning_points_at_the_dashboard():
    ds = yaml.safe_load((MON / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus" and ds["datasources"][0]["url"] == "http://prometheus:9090"
    prov = yaml.safe_load((MON / "grafana/provisioning/dashboards/dashboards.yml").read_text())
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    compose = yaml.safe_load((MON / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in mounts
    json.loads((MON / "grafana/dashboards/wordgame.json").read_text())


def test_compose_file_structure():
    """Our own structural check (Docker cannot run here): services, images or builds, ports, mounts."""
    doc = yaml.safe_load((MON / "docker-compose.yml").read_text())
    assert set(doc["services"]) == {"wordgame", "prometheus", "alertmanager", "grafana"}
    for name, svc in doc["services"].items():
        assert isinstance(svc, dict) and ("image" in svc or "build" in svc), name
        for port in svc.get("ports", []):
            host, _, container = str(port).rpartition(":")
            assert container.split("/")[0].isdigit(), (name, port)
        for dep in svc.get("depends_on", []):
            assert dep in doc["services"], (name, dep)
    for svc in doc["services"].values():          # every mounted host file exists
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                assert (MON / src).exists(), src
    # only the public API leaves the host: the admin listener (pprof) and the UIs on 127.0.0.1
    wg = doc["services"]["wordgame"]
    env = wg["environment"]
    assert env["WORDGAME_ADDR"] == "0.0.0.0" and env["WORDGAME_ADMIN_ADDR"] == "0.0.0.0"
    published = {str(p).rpartition(":")[2]: str(p).rpartition(":")[0] for p in wg["ports"]}
    assert published[env["ADMIN_PORT"]] == f"127.0.0.1:{env['ADMIN_PORT']}"
    assert published[env["PORT"]] == env["PORT"]
    for name, svc in doc["services"].items():
        if name != "wordgame":
            assert all(str(p).startswith("127.0.0.1:") for p in svc.get("ports", [])), name
    prom = yaml.safe_load((MON / "prometheus.yml").read_text())
    target = next(j for j in prom["scrape_configs"] if j["job_name"] == "wordgame")["static_configs"][0]["targets"]
    assert target == [f"wordgame:{env['ADMIN_PORT']}"]              # scraped over the compose network
    build = doc["services"]["wordgame"]["build"]
    assert (MON / build["context"] / "go.mod").exists() or not (MON.parent / "wordgame").exists()
    assert (MON / build["context"] / build["dockerfile"]).exists()


def _compose_cli():
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return [shutil.which("docker-compose")]
    return None


def test_compose_config_with_the_compose_cli():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed (the schema test still ran)")
    r = subprocess.run([*cli, "-f", str(MON / "docker-compose.yml"), "config", "-q"], capture_output=True,
                       text=True, timeout=60, cwd=MON)
    assert r.returncode == 0, r.stdout + r.stderr
