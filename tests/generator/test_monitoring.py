"""Monitoring the monitoring: the rules the spec's `monitoring` section generates,
the Watchdog's and InfoInhibitor's routing (asked of the real amtool) and the
generated promtool tests (run by the real promtool, which must catch a broken rule)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import alertmanager, prometheus_config
from generator.loader import load_spec
from generator.rules import RULES_FILE, monitoring, rule_groups
from generator.rules import outputs as rule_outputs

REQUIRED_LABELS = {"severity", "priority", "team"}
REQUIRED_ANNOTATIONS = {"summary", "description", "runbook_url", "dashboard_url"}


def _rules(spec) -> list[dict]:
    return next(g for g in rule_groups(spec) if g["name"] == f"{spec.name}.monitoring")["rules"]


def test_every_monitoring_alert_carries_the_labels_and_annotations_of_the_others(write_spec):
    spec = load_spec(write_spec())
    rules = _rules(spec)
    assert {r["alert"] for r in rules} >= {
        "Watchdog", "TargetDown", "TargetFlapping", "ScrapeSlow", "ExporterSamplesDropped",
        "ExporterCollectorFailing", "ExporterDatabaseUnreachable", "SqlQueryFailing",
        "SqlQueryStale", "PrometheusRuleFailures", "PrometheusMissedRuleEvaluations",
        "PrometheusRuleGroupSlow", "PrometheusConfigReloadFailed",
        "PrometheusNotificationQueueFilling", "PrometheusAlertmanagerDiscoveryLost",
        "PrometheusTsdbCompactionsFailing", "PrometheusWalCorruption",
        "AlertmanagerNotificationsFailing", "AlertmanagerConfigReloadFailed",
        "AlertmanagerClusterPeersLost", "InfoInhibitor"}
    for rule in rules:
        assert rule["labels"].keys() >= REQUIRED_LABELS, rule["alert"]
        assert rule["annotations"].keys() >= REQUIRED_ANNOTATIONS, rule["alert"]
        assert (rule["labels"].get("category") == "monitoring") == (rule["alert"] != "InfoInhibitor")
    by_name = {r["alert"]: r for r in rules}
    assert by_name["TargetDown"]["labels"]["severity"] == "critical"
    assert by_name["TargetDown"]["for"] == "5m"
    assert by_name["ScrapeSlow"]["labels"]["severity"] == "warning"
    assert by_name["ScrapeSlow"]["for"] == "10m"
    assert by_name["Watchdog"]["expr"] == "vector(1)"
    assert by_name["Watchdog"]["labels"]["environment"] == "production"
    # Every generated scrape job is watched for being down.
    jobs = [j["job_name"] for j in prometheus_config.config(spec)["scrape_configs"]]
    assert all(job in by_name["TargetDown"]["expr"] for job in jobs)


def test_severities_and_timings_come_from_the_spec(write_spec):
    spec = load_spec(write_spec(lambda d: d["monitoring"].update(
        {"severity": "high", "for": "2m", "target_down": {"severity": "warning", "for": "30s"},
         "team": "sre"})))
    by_name = {r["alert"]: r for r in _rules(spec)}
    assert (by_name["TargetDown"]["labels"]["severity"], by_name["TargetDown"]["for"]) == (
        "warning", "30s")
    assert (by_name["PrometheusRuleFailures"]["labels"]["priority"],
            by_name["PrometheusRuleFailures"]["for"]) == ("P1", "2m")
    assert {r["labels"]["team"] for r in by_name.values()} == {"sre"}


def test_prometheus_scrapes_itself_and_alertmanager_with_the_selectors(write_spec):
    spec = load_spec(write_spec())
    jobs = {j["job_name"]: j for j in prometheus_config.config(spec)["scrape_configs"]}
    assert jobs["prometheus"]["static_configs"] == [
        {"targets": ["prometheus:9090"], "labels": {"environment": "production"}}]
    # Alertmanager is scraped where Prometheus sends alerts, unless told otherwise.
    assert jobs["alertmanager"]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert len(jobs) == 7  # and the four exporters and the incident recorder


def _alertmanager_config(spec) -> dict:
    return alertmanager.config(spec)


def test_the_watchdog_goes_first_to_its_heartbeat_never_muted_nor_inhibited(write_spec):
    spec = load_spec(write_spec(lambda d: d["monitoring"]["heartbeat"].update(
        {"url": "https://hc-ping.com/check", "token": {"env": "HEARTBEAT_TOKEN"},
         "repeat_interval": "2m"})))
    config = _alertmanager_config(spec)
    first = config["route"]["routes"][0]
    assert first == {"matchers": ['alertname="Watchdog"'], "receiver": "heartbeat",
                     "group_by": ["alertname"], "group_wait": "0s", "group_interval": "24s",
                     "repeat_interval": "2m"}
    receiver = next(r for r in config["receivers"] if r["name"] == "heartbeat")
    assert receiver["webhook_configs"] == [{
        "url": "https://hc-ping.com/check", "send_resolved": False,
        "http_config": {"authorization": {"credentials_file": "/run/secrets/heartbeat_token"}}}]
    assert "HEARTBEAT_TOKEN" in alertmanager.secret_envs(spec)
    watchdog = {r["alert"]: r for r in _rules(spec)}["Watchdog"]["labels"]
    for rule in config["inhibit_rules"]:
        assert not _matches(rule["target_matchers"], {"alertname": "Watchdog", **watchdog}), rule


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for text in matchers:
        name, op, value = re.fullmatch(r'(\w+)(=~|!=|=)"(.*)"', text).groups()
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value,
              "=~": re.fullmatch(value, have) is not None}[op]
        if not ok:
            return False
    return True


def test_info_alerts_are_inhibited_by_the_info_inhibitor_in_their_deployment(write_spec):
    config = _alertmanager_config(load_spec(write_spec()))
    assert config["inhibit_rules"][0] == {"source_matchers": ['alertname="InfoInhibitor"'],
                                          "target_matchers": ['severity="info"'],
                                          "equal": ["environment"]}
    assert config["route"]["routes"][1] == {"matchers": ['alertname="InfoInhibitor"'],
                                            "receiver": "info-inhibitor"}
    assert {"name": "info-inhibitor"} in config["receivers"]


def test_the_info_inhibitor_can_be_turned_off(write_spec):
    spec = load_spec(write_spec(lambda d: d["monitoring"].update(info_inhibitor="none")))
    config = _alertmanager_config(spec)
    assert not [r for r in config["inhibit_rules"] if 'alertname="InfoInhibitor"' in
                r["source_matchers"]]
    assert "info-inhibitor" not in {r["receiver"] for r in config["route"]["routes"]}
    assert "InfoInhibitor" not in {r["alert"] for r in _rules(spec)}


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool not installed")
@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=Watchdog", "severity=none", "category=monitoring"], "heartbeat"),
    (["alertname=InfoInhibitor", "severity=none"], "info-inhibitor"),
    (["alertname=TargetDown", "severity=critical", "category=monitoring"], "severity-critical"),
    (["alertname=PrometheusRuleFailures", "severity=warning", "category=monitoring"],
     "severity-warning"),
])
def test_route(labels, receiver):
    config = Path(__file__).resolve().parents[2] / "deploy/alertmanager/alertmanager.yml"
    result = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={config}",
                             *labels], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == receiver, result.stderr


def _promtool(root: Path, group: dict, files: dict[str, str]) -> subprocess.CompletedProcess:
    """The generated monitoring tests, run by promtool against `group` alone."""
    (root / "tests").mkdir()
    (root / "vigil.rules.yml").write_text(yaml.safe_dump({"groups": [group]}))
    test_file = root / "tests/monitoring.test.yml"
    test_file.write_text(files["alert_rules/tests/monitoring.test.yml"])
    return subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
@pytest.mark.parametrize(("broken", "old", "new"), [
    ("TargetDown compares the wrong way", "== 0", "== 1"),
    ("the database-down exemption of collector failures is lost",
     " == 0 unless on (job, instance) vigil_pg_up", " == 0 or on (job, instance) vigil_pg_up"),
    ("the InfoInhibitor ignores more severe alerts", " unless on (environment) count", " or on "
     "(environment) count"),
])
def test_the_generated_promtool_tests_catch_a_broken_rule(write_spec, tmp_path, broken, old, new):
    files = rule_outputs(load_spec(write_spec()))
    rules = yaml.safe_load(files[RULES_FILE])
    group = next(g for g in rules["groups"] if g["name"].endswith(".monitoring"))
    changed = [r for r in group["rules"] if old in r["expr"]]
    assert changed, broken
    changed[0]["expr"] = changed[0]["expr"].replace(old, new, 1)
    result = _promtool(tmp_path, group, files)
    assert result.returncode != 0 and changed[0]["alert"] in result.stdout + result.stderr, broken


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_the_generated_promtool_tests_pass_on_the_generated_rules(write_spec, tmp_path):
    files = rule_outputs(load_spec(write_spec()))
    group = next(g for g in yaml.safe_load(files[RULES_FILE])["groups"]
                 if g["name"].endswith(".monitoring"))
    result = _promtool(tmp_path, group, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert monitoring.WATCHDOG in files["alert_rules/tests/monitoring.test.yml"]
