"""monitoring/: promtool checks and unit tests, rule conventions, dashboard and compose validation."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from perfkit.lab import (PromtoolError, dashboard_exprs, find_prometheus_tool, generate_config, load_dashboard,
                         promtool_check)
from wordgame_lab import check_monitoring, monitoring_dir, wordgame_alerts
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
    t.write_text(t.read_text().replace("eval_time: 9m          # back up", "eval_time: 4m          # broken"))
    with pytest.raises(PromtoolError, match="test rules"):
        check_monitoring(d)
    res = check_monitoring(d, raise_on_error=False)
    assert [r.ok for r in res] == [True, True, False]


def _alerts():
    groups = yaml.safe_load((MON / "rules" / "alerts.yml").read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_has_a_firing_and_a_not_firing_unit_test():
    tests = yaml.safe_load((MON / "tests" / "alerts_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    names = {a["alert"] for a in _alerts()}
    assert {"WordgameInstanceDown", "WordgameErrorRatioAboveSLO", "WordgameLatencyBudgetBurn",
            "WordgameActiveGamesLeak", "WordgameGoroutinesGrowing", "WordgameRestarted"} <= names
    for name in names:
        fired = [c for c in cases if c["alertname"] == name and c.get("exp_alerts")]
        quiet = [c for c in cases if c["alertname"] == name and not c.get("exp_alerts")]
        assert fired and quiet, f"{name} needs a firing and a not-firing test case"
    for a in _alerts():
        assert a["labels"]["severity"] in ("page", "ticket")
        assert a["annotations"]["summary"] and a["annotations"]["description"]


def test_alert_table_counts_the_unit_test_cases():
    table = wordgame_alerts().set_index("alert")
    assert set(table.index) == {a["alert"] for a in _alerts()}
    tests = yaml.safe_load((MON / "tests" / "alerts_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    for name, row in table.iterrows():
        assert row["tests firing"] == sum(1 for c in cases if c["alertname"] == name and c.get("exp_alerts"))
        assert row["tests silent"] == sum(1 for c in cases if c["alertname"] == name and not c.get("exp_alerts"))
        assert row["severity"] in ("page", "ticket")


def test_promtool_check_needs_something_to_check():
    with pytest.raises(PromtoolError, match="nothing to check"):
        promtool_check()


def test_recording_rule_names_and_windows():
    groups = yaml.safe_load((MON / "rules" / "recording.yml").read_text())["groups"]
    names = [r["record"] for g in groups for r in g["rules"]]
    assert all(re.fullmatch(r"wordgame:[a-z0-9_]+:[a-z0-9_]+", n) for n in names), names
    for n in ("wordgame:http_requests:rate1m", "wordgame:http_requests:rate5m",
              "wordgame:slo_errors:ratio_rate1m", "wordgame:slo_errors:ratio_rate5m",
              "wordgame:slo_latency_errors:ratio_rate1m", "wordgame:slo_latency_errors:ratio_rate1h"):
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
                 "Active games", "evicted", "Goroutines", "Heap", "GC pause", "burn rate"):
        assert want in titles, want
    assert any(p["type"] == "heatmap" for p in d["panels"])
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
