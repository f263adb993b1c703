"""Routing of the generated Alertmanager config, asked of the real `amtool`.

`amtool config routes test` walks the routing tree for a label set exactly as
Alertmanager does, so these cases prove where each kind of alert goes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/alertmanager/alertmanager.yml"

pytestmark = pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool not installed")


def route(*labels: str) -> str:
    result = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={CONFIG}", *labels],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=DiskUsage", "severity=critical", "signal=disk_usage"], "severity-critical"),
    (["alertname=CpuUsage", "severity=warning", "signal=cpu_usage"], "severity-warning"),
    (["alertname=Throughput", "severity=info", "signal=throughput"], "severity-info"),
    (["alertname=DailyRevenue", "severity=warning", "signal=daily_revenue", "team=finance"],
     "signal-daily_revenue-warning"),
    (["alertname=SuspiciousActivity", "severity=critical", "signal=suspicious_activity"],
     "signal-suspicious_activity-critical"),
    (["alertname=AlertEscalated", "severity=critical", "escalation_level=2"],
     "escalation-critical-level2"),
    (["alertname=AlertEscalated", "severity=critical", "escalation_level=4"],
     "escalation-critical-level4"),
    (["alertname=AvailabilityBudgetBurn", "severity=critical", "slo=availability"], "severity-critical"),
    (["alertname=Mystery", "severity=unheard-of"], "unrouted"),
])
def test_route(labels, receiver):
    assert route(*labels) == receiver


def _config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_receivers_use_the_severity_channels():
    receivers = {r["name"]: r for r in _config()["receivers"]}
    critical = receivers["severity-critical"]
    assert {k for k in critical if k != "name"} == {"pagerduty_configs", "webhook_configs"}
    urls = sorted(w["url"] for w in critical["webhook_configs"])
    assert "http://sms-gateway:8080/send?to=cto" in urls
    assert "http://phone-gateway:8080/call?to=on_call_engineer" in urls
    warning = receivers["severity-warning"]
    assert {k for k in warning if k != "name"} == {"slack_configs", "email_configs"}
    revenue = receivers["signal-daily_revenue-warning"]
    assert sorted(e["to"] for e in revenue["email_configs"]) == ["finance@example.com",
                                                                   "management@example.com"]


def test_maintenance_windows_in_their_time_zone_mute_every_route():
    config = _config()
    intervals = {i["name"]: i["time_intervals"][0] for i in config["time_intervals"]}
    assert intervals["maintenance-daily"] == {
        "times": [{"start_time": "02:00", "end_time": "04:00"}], "location": "Asia/Bangkok"}
    assert intervals["maintenance-weekly"]["weekdays"] == ["sunday"]
    assert intervals["maintenance-monthly"]["days_of_month"] == ["1:7"]
    assert intervals["maintenance-monthly"]["weekdays"] == ["sunday"]
    for child in config["route"]["routes"]:
        if child["receiver"] in ("heartbeat", "info-inhibitor"):  # never muted (test_monitoring)
            continue
        assert child["mute_time_intervals"] == ["maintenance-daily", "maintenance-weekly",
                                                "maintenance-monthly"], child["receiver"]


def test_timings_follow_duplicate_suppression_and_escalation():
    config = _config()
    assert config["route"]["group_interval"] == "5m"
    repeat = {c["receiver"]: c.get("repeat_interval") for c in config["route"]["routes"]}
    assert repeat["severity-critical"] == "15m"
    assert repeat["severity-warning"] == "2h"
    assert repeat["severity-info"] == "1d"


def test_critical_inhibits_warning_of_the_same_signal_only():
    rules = _config()["inhibit_rules"]
    wal = next(r for r in rules if 'signal="wal_backup_age"' in r["source_matchers"])
    assert wal["source_matchers"] == ['signal="wal_backup_age"', 'severity="critical"']
    assert wal["target_matchers"] == ['signal="wal_backup_age"', 'severity=~"warning"']
    assert wal["equal"] == ["environment", "instance", "signal"]
