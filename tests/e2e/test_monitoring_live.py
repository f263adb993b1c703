"""Monitoring the monitoring, on the session's real stack (tests/e2e/conftest.py).

An exporter that stops fires TargetDown and its return resolves it; the Watchdog keeps
reaching its heartbeat receiver, again and again; a custom signal whose expression
Prometheus cannot evaluate (tests/e2e/overlays.py, FAILING_SIGNAL) fires
PrometheusRuleFailures naming its rule group. Every fault is undone before its test
ends: the stopped exporter is started again.
"""

from __future__ import annotations

import itertools
import time

from tests.e2e import overlays
from tests.e2e.harness import (
    EVALUATION,
    GROUP_INTERVAL,
    MARGIN,
    PAGED,
    SCRAPE,
    STACK_MARKS,
    check_delivery,
    delivered,
    delivery_bound,
    prometheus_only,
)
from tests.e2e.processes import wait_for

pytestmark = STACK_MARKS

STOPPED = "postgres"  # the exporter no other test of this module or test_stack needs now
STARTUP = 5.0  # seconds for a restarted exporter's interpreter to listen again


def test_a_stopped_exporter_pages_target_down_and_its_restart_resolves_it(e2e, say):
    stack = e2e.stack
    job = stack.spec.jobs[STOPPED]
    stopped = time.time()
    stack.stop_exporter(STOPPED)
    try:
        check_delivery(e2e, say, stopped, "TargetDown", receiver="severity-critical",
                       recipients=PAGED, severity="critical", team="operations",
                       priority="P0", for_=stack.spec.monitoring.target_down_for,
                       collection=0, job=job)
        alert = next(a for a in stack.alerts() if a["labels"].get("alertname") == "TargetDown")
        assert alert["labels"]["category"] == "monitoring"
        assert alert["labels"]["instance"] == stack.urls[STOPPED].split("/")[2]
        assert job in alert["annotations"]["description"]
    finally:
        restarted = time.time()
        stack.start_exporter(STOPPED)
    bound = STARTUP + SCRAPE + EVALUATION + GROUP_INTERVAL + MARGIN
    resolved = delivered(e2e, bound + 30, alertname="TargetDown", status="resolved", job=job)
    elapsed = min(n.received_at for n in resolved) - restarted
    say(f"TargetDown: restart to resolved notification {elapsed:.1f}s (bound {bound:.0f}s)")
    assert elapsed <= bound
    wait_for(lambda: stack.query(f'up{{job="{job}"}} == 1'), 30, interval=0.5,
             message=f"{job} is not scraped again")


def test_the_watchdog_keeps_reaching_its_heartbeat_receiver(e2e, say):
    def posts() -> list[float]:
        return sorted(n.received_at for n in prometheus_only(e2e.stack.receiver.matching(
            alertname="Watchdog", status="firing")))

    repeat = overlays.HEARTBEAT
    already = len(posts())
    wait_for(lambda: len(posts()) >= already + 4, 4 * (repeat + MARGIN), interval=0.5,
             message="the Watchdog stopped reaching its heartbeat receiver")
    notes = prometheus_only(e2e.stack.receiver.matching(alertname="Watchdog"))
    assert {(n.receiver, n.recipient, n.status) for n in notes} == {
        ("heartbeat", "heartbeat", "firing")}
    assert {n.labels["category"] for n in notes} == {"monitoring"}
    recent = posts()[-4:]
    gaps = [b - a for a, b in itertools.pairwise(recent)]
    say(f"Watchdog: posts {', '.join(f'{g:.1f}s' for g in gaps)} apart "
        f"(repeat_interval {repeat:g}s)")
    # Re-sent at the heartbeat's pace: not faster, and at most a tick late.
    assert all(repeat - 1 <= g <= repeat * 1.2 + EVALUATION + 1 for g in gaps), gaps


def test_a_rule_that_fails_to_evaluate_fires_the_rule_failure_alert(e2e, say):
    group = f"{e2e.stack.spec.name}.signal.{overlays.FAILING_SIGNAL}"
    for_ = e2e.stack.spec.monitoring.for_
    notes = delivered(e2e, delivery_bound(for_) + 30, alertname="PrometheusRuleFailures",
                      status="firing")
    assert {n.labels["rule_group"].split(";")[-1] for n in notes} == {group}
    assert {(n.receiver, n.severity, n.labels["category"]) for n in notes} == {
        ("severity-warning", "warning", "monitoring")}
    failing = e2e.stack.query("prometheus_rule_evaluation_failures_total > 0")
    assert [r["metric"]["rule_group"].split(";")[-1] for r in failing] == [group]
    elapsed = min(n.received_at for n in notes) - e2e.started_at
    say(f"PrometheusRuleFailures: {elapsed:.1f}s after the stack started")
