"""Absent data on the real stack: a metric that vanishes while its exporter stays up pages.

The fault is a `metric_relabel_configs` rule in the stack's Prometheus configuration
that drops one metric of the host exporter at scrape time (reloaded over
`/-/reload`, as `harness.remote_write_to` does), so the exporter keeps answering and
its target stays up: only the data is gone. The rule is taken out again before the
test ends and the metric must be back, because other modules share the stack.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import yaml

from tests.e2e.harness import E2E, SCRAPE, STACK_MARKS, check_delivery, prometheus_only
from tests.e2e.overlays import ABSENT_GRACE, FOR
from tests.e2e.processes import wait_for

pytestmark = STACK_MARKS

DROPPED = "vigil_host_memory_available_bytes"  # read by memory_usage, and by no fault of others


def _absent_alerts(e2e: E2E) -> list[dict[str, str]]:
    """Labels of every absent-data alert Prometheus holds (pending or firing)."""
    return [a["labels"] | {"state": a["state"]} for a in e2e.stack.alerts()
            if a["labels"].get("category") == "monitoring"
            and a["labels"]["alertname"].endswith(("Absent", "SliAbsent"))]


def _reload(e2e: E2E) -> None:
    requests.post(f"{e2e.stack.prometheus_url}/-/reload", timeout=10).raise_for_status()


@pytest.fixture
def dropped_metric(e2e: E2E) -> Iterator[float]:
    """Drop DROPPED from the host job's scrapes; yield when; put the configuration back."""
    path = e2e.stack.generated / "deploy/prometheus/prometheus.demo.yml"
    original = path.read_text()
    config = yaml.safe_load(original)
    job = next(j for j in config["scrape_configs"]
               if j["job_name"] == e2e.stack.spec.jobs["host"])
    job["metric_relabel_configs"] = [{"source_labels": ["__name__"], "regex": DROPPED,
                                      "action": "drop"}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        _reload(e2e)
        yield time.time()
    finally:
        path.write_text(original)
        _reload(e2e)
    wait_for(lambda: e2e.stack.query(DROPPED), 30, interval=0.5,
             message=f"{DROPPED} did not come back after the drop rule was removed")


def test_a_healthy_stack_raises_no_absent_data_alert(e2e):
    """Every metric a threshold or an SLO reads is there: nothing is even pending."""
    wait_for(lambda: time.time() - e2e.started_at > ABSENT_GRACE + 4 * SCRAPE, 60, interval=0.5)
    time.sleep(2 * SCRAPE)  # an evaluation after the grace
    assert _absent_alerts(e2e) == []


def test_a_metric_dropped_while_its_exporter_is_up_fires_its_absent_data_alert(
        e2e, say, dropped_metric):
    notes = check_delivery(e2e, say, dropped_metric, "MemoryUsageAbsent",
                           receiver="severity-warning",
                           recipients=set(e2e.stack.spec.severities["warning"].recipients),
                           severity="warning", team="operations", priority="P2", for_=FOR,
                           collection=0.0, metric=DROPPED)
    host = e2e.stack.spec.targets["host"][0]
    assert {n.labels["instance"] for n in notes} == {host}
    assert {(n.labels["signal"], n.labels["category"], n.labels["job"]) for n in notes} == {
        ("memory_usage", "monitoring", e2e.stack.spec.jobs["host"])}
    alert = next(a for a in e2e.stack.alerts() if a["labels"]["alertname"] == "MemoryUsageAbsent")
    assert alert["annotations"]["description"] == (
        f"{host} (job {e2e.stack.spec.jobs['host']}) has exported no {DROPPED} for "
        f"{FOR:g}s while up: the Memory usage alerts cannot fire.")
    # Only the dropped metric is missing: memory_usage's other metric and every other
    # signal are still watched and quiet.
    assert [(a["alertname"], a.get("metric")) for a in _absent_alerts(e2e)] == [
        ("MemoryUsageAbsent", DROPPED)]
    assert not [n for n in prometheus_only(e2e.stack.receiver.notifications)
                if n.alertname.endswith("Absent") and n.alertname != "MemoryUsageAbsent"]
