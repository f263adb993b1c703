"""The generated Alertmanager configuration notifies the recorder from every receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exporters.incidents.payload import MAX_ALERTS, WEBHOOK_PATH
from generator import alertmanager, prometheus_config
from generator.loader import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]


def test_every_receiver_also_notifies_the_incident_recorder() -> None:
    spec = load_spec(ROOT / "slo/spec.yaml")
    config = alertmanager.config(spec)
    hook = {"url": f"http://incidents:9735{WEBHOOK_PATH}", "send_resolved": True,
            "max_alerts": MAX_ALERTS}
    assert len(config["receivers"]) > 10
    # The Watchdog's and the InfoInhibitor's receivers are left out: they always fire.
    always_firing = {alertmanager.HEARTBEAT_RECEIVER, alertmanager.INFO_INHIBITOR_RECEIVER}
    for receiver in config["receivers"]:
        notified = hook in receiver.get("webhook_configs", [])
        assert notified == (receiver["name"] not in always_firing), receiver["name"]
    # ...which is what the committed file holds, and Prometheus scrapes the recorder
    committed = yaml.safe_load((ROOT / "deploy/alertmanager/alertmanager.yml").read_text())
    assert all(hook in r.get("webhook_configs", []) for r in committed["receivers"]
               if r["name"] not in always_firing)
    jobs = {j["job_name"]: j for j in prometheus_config.config(spec)["scrape_configs"]}
    assert jobs["vigil-incidents"]["static_configs"][0]["targets"] == ["incidents:9735"]


def _spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(f"extends: {ROOT / 'slo/spec.yaml'}\n{body}")
    return path


@pytest.mark.parametrize(("body", "message"), [
    ("reports: {weekly: {period: 7d, recipients: [nobody]}}\n", "unknown receiver 'nobody'"),
    ("reports: {weekly: {period: 7d, recipients: [on_call_engineer]}}\n", "has no `email`"),
    ("reports: {weekly: {period: 7d, recipients: [management]}}\nemail: null\n",
     "needs the top-level `email` section"),
    ("reports: {quarterly: {recipients: [management]}}\n", "period"),
    ("reliability: {severities: [catastrophic]}\n", "unknown severity 'catastrophic'"),
    ("reliability: {window: 100d}\n", "at most"),
])
def test_bad_reports_and_reliability_settings_are_refused(tmp_path: Path, body: str,
                                                          message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(_spec(tmp_path, body))
    assert message in caught.value.render()


def test_reports_and_reliability_settings_are_read(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "reliability: {window: 7d, severities: [critical]}\n"))
    assert spec.failure_severities == ("critical",)
    assert spec.reliability_windows() == (86400.0, 7 * 86400.0, 30 * 86400.0)
    assert set(spec.reliability) == {"mttr", "mtbf", "rpo", "rto"}
    assert spec.reports["weekly"].recipients == ("management", "cto")
