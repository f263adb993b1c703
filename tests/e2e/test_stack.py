"""From fault to notification on the demo stack: every part real, nothing mocked.

The stack is the session's (tests/e2e/conftest.py); the helpers that wait for and
check notifications are in tests/e2e/harness.py. Each fault is injected once and each
test waits for its notification, printing the time from fault to notification and
asserting it is within ``collection + scrape + evaluation + for + group_wait + MARGIN``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from generator.dashboards.queries import annotation_queries, executable, panel_queries
from generator.demo import history, workload
from tests.e2e import overlays
from tests.e2e.harness import (
    COLLECTION,
    E2E,
    ERROR_SHARE,
    EVALUATION,
    GROUP_INTERVAL,
    GROUP_WAIT,
    MARGIN,
    PAGED,
    SCRAPE,
    STACK_MARKS,
    VMALERT_LABEL,
    age_the_wal_backups,
    check_delivery,
    delivered,
    delivery_bound,
    evaluated_rules,
    prometheus_only,
    record_probe_incident,
    sql_interval,
    to_everyone,
)
from tests.e2e.processes import (
    wait_for,
)

pytestmark = STACK_MARKS

# Panels whose queries cannot have data on the demo stack, and why.
# Keyed by (dashboard uid without the spec's name, panel title).
NO_DATA: dict[tuple[str, str], str] = {
    ("database", "Replica lag by standby"): "the demo database has no standby",
}
# Queries that may be empty while their history is: an anomaly band reads the same hour
# of past weeks (backfilled only for signals that had a value when the history was
# written). The capacity dashboard's hourly means, trends and projections have data:
# the stack runs its hourly group at the evaluation interval; only a scale-up date (no
# trend crossing the line) and shrink candidates (no host below it) may rightly be none.
ANOMALY_BAND = re.compile(r"(vigil:[a-z0-9_]+):band_mean_")
MAY_BE_NONE = re.compile(r"scale_up_timestamp_seconds|:peak\{[^}]*\} < ")


def _history_pending(e2e: E2E, uid: str, query: str) -> bool:
    if uid == "capacity":
        return bool(MAY_BE_NONE.search(query))
    band = ANOMALY_BAND.search(query)
    return bool(band) and e2e.stack.query(f"{band.group(1)}:avg_1h offset 1w") == []


# -- the stack ------------------------------------------------------------------------

# Panels and rules that fail on purpose: the rule-failure alert needs one
# (tests/e2e/test_monitoring_live.py).
FAILING_RULES = {f"vigil:{overlays.FAILING_SIGNAL}"}
FAILING_PANELS = {("infrastructure", overlays.FAILING_TITLE)}


def test_every_scrape_target_is_up(e2e):
    targets = e2e.stack.targets()
    spec = e2e.stack.spec
    assert sorted(t["job"] for t in targets) == sorted(
        [*spec.jobs.values(), *spec.monitoring.jobs.values()])
    assert [t for t in targets if t["health"] != "up"] == []


WAIT = 30  # seconds the rules get to be evaluated once


def _evaluated_rules(e2e: E2E, rules_api: str, engine: str) -> list[dict[str, Any]]:
    """Every rule of a rule engine once each was evaluated; as many as were generated."""
    rules = evaluated_rules(rules_api, e2e.stack.prometheus_url, WAIT, engine)
    generated = yaml.safe_load((e2e.stack.generated / "alert_rules/vigil.rules.yml").read_text())
    assert len(rules) == sum(len(g["rules"]) for g in generated["groups"])
    return rules


def test_every_generated_rule_evaluates_without_error(e2e):
    rules = _evaluated_rules(e2e, f"{e2e.stack.prometheus_url}/api/v1/rules", "Prometheus")
    failing = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert [f for f in failing if f[0] not in FAILING_RULES] == []
    assert {name for name, _ in failing} == FAILING_RULES  # the exemption stays true


# -- faults -----------------------------------------------------------------------------

def _with_conn(e2e: E2E, fault: Callable[[Any], None]) -> Callable[[], None]:
    def run() -> None:
        with e2e.stack.connect() as conn:
            fault(conn)
    return run


def test_failed_login_burst_reaches_security_and_it_admin(e2e, say):
    started = e2e.inject("failed logins", _with_conn(e2e, workload.failed_login_burst))
    check_delivery(e2e, say, started, "FailedLogins", receiver="signal-failed_logins-warning",
                    recipients={"security_team", "it_admin"}, severity="warning",
                    team="security", priority="P2", for_=0,
                    collection=sql_interval(e2e.stack, "vigil_business_failed_logins_total"))
    alert = next(a for a in requests.get(f"{e2e.stack.alertmanager_url}/api/v2/alerts",
                                         timeout=5).json()
                 if a["labels"].get("alertname") == "FailedLogins"
                 and VMALERT_LABEL[0] not in a["labels"])
    assert alert["labels"] == {
        "alertname": "FailedLogins", "environment": "demo", "priority": "P2",
        "severity": "warning", "signal": "failed_logins", "team": "security"}
    assert re.fullmatch(r"Failed login attempts: \d+(\.\d+)? in the last 1h, above the warning "
                        r"threshold of 100/h\.", alert["annotations"]["description"])
    # The alert's dashboard link opens the panel that draws the signal.
    link = urlsplit(alert["annotations"]["dashboard_url"])
    uid = link.path.split("/")[2]
    panel = int(dict(p.split("=") for p in link.query.split("&"))["viewPanel"])
    dashboard = next(d for d in (json.loads(f.read_text()) for f in
                                 (e2e.stack.generated / "dashboards").glob("*.json"))
                     if d["uid"] == uid)
    assert {q.panel_title for q in panel_queries(dashboard) if q.panel_id == panel} == {
        "Failed login attempts"}


def test_suspicious_activity_pages_security_and_the_cto(e2e, say):
    started = e2e.inject("suspicious activity", _with_conn(e2e, workload.suspicious_activity))
    check_delivery(e2e, say, started, "SuspiciousActivity",
                    receiver="signal-suspicious_activity-critical",
                    recipients={"security_team", "cto"}, severity="critical", team="security",
                    priority="P0", for_=0,
                    collection=sql_interval(e2e.stack, "vigil_business_suspicious_activity_total"))


def test_probe_target_down_pages_on_call_and_resolves(e2e, say):
    payments = e2e.stack.payments
    assert payments is not None
    started = e2e.inject("payments down", lambda: workload.probe_target_down(payments))
    try:
        check_delivery(e2e, say, started, "EndpointDown", receiver="severity-critical",
                        recipients=PAGED, severity="critical",
                        team="operations", priority="P0", for_=overlays.FOR, target="payments-api")
    finally:
        recovered = time.time()
        workload.probe_target_up(payments)
    bound = COLLECTION + SCRAPE + EVALUATION + GROUP_INTERVAL + MARGIN
    resolved = delivered(e2e, bound + 30, alertname="EndpointDown", status="resolved",
                          target="payments-api")
    elapsed = min(n.received_at for n in resolved) - recovered
    say(f"EndpointDown: recovery to resolved notification {elapsed:.1f}s (bound {bound:.0f}s = "
        f"collection + scrape + evaluation + group_interval {GROUP_INTERVAL:g} + margin)")
    assert elapsed <= bound
    resolved = to_everyone(e2e, PAGED, alertname="EndpointDown", status="resolved",
                            target="payments-api")
    assert {n.recipient for n in resolved} == PAGED


def test_error_spike_burns_the_budget_and_pages(e2e, say):
    started = e2e.inject("error spike",
                         lambda: workload.error_spike(e2e.stack.storefront, ERROR_SHARE))
    # The burn windows also hold the clean traffic before the spike: the error ratio
    # crosses the page threshold only after `fill` seconds of errors.
    slo = e2e.stack.spec.slos["availability"]
    page = max(w.factor for w in slo.windows) * (1 - slo.objective)
    clean = min(started - e2e.started_at, min(w.long for w in slo.windows))
    fill = page * clean / (ERROR_SHARE - page)
    notes = check_delivery(e2e, say, started, "AvailabilityBudgetBurn",
                            receiver="severity-critical",
                            recipients=PAGED,
                            severity="critical", team="operations", priority="P0", for_=0,
                            fill=fill, slo="availability")
    assert {n.labels["long_window"] for n in notes} <= {"1h", "6h"}


def _firing_in_prometheus(e2e: E2E, **labels: str) -> list[dict[str, Any]]:
    return [a for a in e2e.stack.alerts() if a["state"] == "firing"
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def _inhibited(e2e: E2E, **labels: str) -> list[dict[str, Any]]:
    """Alerts the stack's Alertmanager holds back because a more severe one fires."""
    alerts = requests.get(f"{e2e.stack.alertmanager_url}/api/v2/alerts", timeout=5).json()
    return [a for a in alerts if a["status"]["inhibitedBy"] and VMALERT_LABEL[0] not in a["labels"]
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def test_the_milder_burn_alert_is_inhibited_while_the_page_fires(e2e):
    """A steep spike crosses the slow-burn (warning) windows first, so the warning may be
    delivered before the page; once the page fires, Alertmanager holds the warning back."""
    e2e.inject("error spike", lambda: workload.error_spike(e2e.stack.storefront, ERROR_SHARE))
    delivered(e2e, delivery_bound(0) + 30, alertname="AvailabilityBudgetBurn", severity="critical",
               status="firing")
    wait_for(lambda: _firing_in_prometheus(e2e, alertname="AvailabilityBudgetBurn",
                                           severity="warning"), 30, interval=0.5,
             message="the warning burn alert never fired in Prometheus")
    held = wait_for(lambda: _inhibited(e2e, alertname="AvailabilityBudgetBurn", severity="warning"),
                    30, interval=0.5, message="the warning burn alert is not inhibited")
    assert {a["status"]["state"] for a in held} == {"suppressed"}
    critical = {a["fingerprint"] for a in requests.get(
        f"{e2e.stack.alertmanager_url}/api/v2/alerts", timeout=5).json()
        if a["labels"].get("alertname") == "AvailabilityBudgetBurn"
        and a["labels"]["severity"] == "critical"}
    assert all(set(a["status"]["inhibitedBy"]) <= critical for a in held)


def test_an_old_transaction_log_backup_pages_and_inhibits_its_warning(e2e, say):
    started = e2e.inject("old wal backup", age_the_wal_backups(e2e))
    check_delivery(e2e, say, started, "WalBackupAge", receiver="severity-critical",
                    recipients=PAGED, severity="critical",
                    team="operations", priority="P0",
                    for_=e2e.stack.spec.signals["wal_backup_age"].for_)
    warning = wait_for(lambda: _firing_in_prometheus(e2e, alertname="WalBackupAge",
                                                     severity="warning"), 30, interval=0.5,
                       message="the warning WalBackupAge never fired in Prometheus")
    assert warning
    inhibited = wait_for(lambda: _inhibited(e2e, alertname="WalBackupAge", severity="warning"),
                         30, interval=0.5, message="Alertmanager does not show the warning as inhibited")
    assert inhibited[0]["status"]["state"] == "suppressed"
    time.sleep(GROUP_INTERVAL + GROUP_WAIT)
    assert prometheus_only(e2e.stack.receiver.matching(alertname="WalBackupAge",
                                                        severity="warning")) == []


def test_maintenance_window_mutes_warnings_and_nothing_else(e2e):
    e2e.inject("failed logins", _with_conn(e2e, workload.failed_login_burst))
    e2e.inject("suspicious activity", _with_conn(e2e, workload.suspicious_activity))
    delivered(e2e, delivery_bound(0) + 30, alertname="FailedLogins", status="firing")
    # The maintenance Alertmanager has the warning (so muting, not absence, keeps it quiet)
    # and delivers the critical alerts as the main one does.
    maintenance = e2e.maintenance_alertmanager.url
    wait_for(lambda: [a for a in requests.get(f"{maintenance}/api/v2/alerts", timeout=5).json()
                      if a["labels"].get("alertname") == "FailedLogins"], 30, interval=0.5,
             message="the maintenance Alertmanager never received FailedLogins")
    critical = wait_for(lambda: prometheus_only(e2e.maintenance.matching(
        alertname="SuspiciousActivity", status="firing")), delivery_bound(0) + 30, interval=0.2,
        message="the maintenance window muted a critical alert")
    assert {n.recipient for n in critical} == {"security_team", "cto"}
    time.sleep(GROUP_WAIT + 2)
    severities = {n.severity for n in e2e.maintenance.notifications}
    # critical, and high where the spool's forecast fired meanwhile: all but warnings
    assert "warning" not in severities and "critical" in severities
    assert severities <= set(e2e.stack.spec.severities) - {"warning"}


def test_an_alert_left_firing_escalates_to_the_next_level(e2e, say):
    e2e.inject("suspicious activity", _with_conn(e2e, workload.suspicious_activity))
    original = delivered(e2e, delivery_bound(0) + 30, alertname="SuspiciousActivity", status="firing")
    first = min(n.received_at for n in original)
    after = overlays.ESCALATION_AFTER
    bound = after + EVALUATION + GROUP_WAIT + MARGIN
    escalated = delivered(e2e, bound + 30, alertname="AlertEscalated", status="firing",
                           escalated_alertname="SuspiciousActivity")
    delay = min(n.received_at for n in escalated) - first
    say(f"SuspiciousActivity: escalated {delay:.1f}s after its first notification "
        f"(step after {after:g}s, bound {bound:.0f}s)")
    assert after - EVALUATION - GROUP_WAIT - 1 <= delay <= bound
    assert {(n.receiver, n.recipient) for n in escalated} == {
        ("escalation-critical-level2", "technical_support")}
    assert {(n.severity, n.priority, n.labels["escalation_level"]) for n in escalated} == {
        ("critical", "P0", "2")}


# -- the second rule engine -------------------------------------------------------------

def test_vmalert_evaluates_the_same_rules_without_error(e2e):
    rules = _evaluated_rules(e2e, f"{e2e.vmalert.url}/api/v1/rules", "vmalert")
    failing = [(r["name"], r["lastError"]) for r in rules if r.get("lastError")]
    assert [f for f in failing if f[0] not in FAILING_RULES] == []


def test_vmalert_alerts_reach_the_same_alertmanager(e2e, say):
    started = e2e.inject("suspicious activity", _with_conn(e2e, workload.suspicious_activity))
    notes = wait_for(lambda: e2e.stack.receiver.matching(
        alertname="SuspiciousActivity", status="firing", rule_engine="vmalert"), 90,
        interval=0.2, message="no SuspiciousActivity from vmalert reached the receiver")
    elapsed = min(n.received_at for n in notes) - started
    # remote_write sends within its 1 s batch deadline; vmalert evaluates like Prometheus.
    bound = delivery_bound(0, sql_interval(e2e.stack, "vigil_business_suspicious_activity_total")) + 1
    say(f"SuspiciousActivity via remote_write + vmalert: {elapsed:.1f}s from fault to "
        f"notification (bound {bound:.0f}s)")
    assert elapsed <= bound
    assert {(n.receiver, n.severity, n.team, n.priority) for n in notes} == {
        ("signal-suspicious_activity-critical", "critical", "security", "P0")}
    assert {n.recipient for n in notes} == {"security_team", "cto"}


# -- dashboards and history ---------------------------------------------------------------

def _queries(e2e: E2E) -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((e2e.stack.generated / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        kind = dashboard["uid"].removeprefix(f"{e2e.stack.spec.name}-")
        found += [(kind, q.panel_title, executable(dashboard, q.expr))
                  for q in panel_queries(dashboard)]
    return found


def test_the_backfilled_history_gives_baselines(e2e):
    wait_for(lambda: e2e.stack.query("vigil:daily_revenue:baseline")
             and e2e.stack.query("vigil:conversion_rate:baseline"), 120, interval=1,
             message="no baseline 120 s after the backfill")
    # All four weeks are kept (the oldest is beyond Prometheus's default retention).
    for weeks in range(1, 5):
        answer = requests.get(f"{e2e.stack.prometheus_url}/api/v1/query", timeout=10, params={
            "query": f"vigil:daily_revenue offset {weeks}w",
            "time": e2e.history_until + weeks * history.WEEK}).json()
        assert answer["data"]["result"], f"no history {weeks} weeks back"


def test_every_dashboard_panel_has_data(e2e):
    e2e.inject("failed logins", _with_conn(e2e, workload.failed_login_burst))  # alerts fire
    # a finished critical incident, settled, gives MTTR and MTBF their values
    e2e.inject("probe incident", lambda: record_probe_incident(e2e))
    wait_for(lambda: e2e.stack.query("vigil:mttr:seconds"), 120, interval=1,
             message="no MTTR recorded from the probe incident")
    wait_for(lambda: e2e.stack.query("vigil:daily_revenue:baseline"), 120, interval=1,
             message="no baseline after the backfill")
    empty, failed = [], []
    queries = _queries(e2e)
    for uid, title, query in queries:
        answer = requests.get(f"{e2e.stack.prometheus_url}/api/v1/query",
                              params={"query": query}, timeout=10).json()
        if answer["status"] != "success":
            if (uid, title) not in FAILING_PANELS:
                failed.append((uid, title, query, answer.get("error")))
        elif (not answer["data"]["result"] and (uid, title) not in NO_DATA
              and not _history_pending(e2e, uid, query)):
            empty.append((uid, title, query))
    assert len(queries) > 50
    assert failed == []
    assert empty == []
    # The list of panels without data stays true: each of them really has none.
    for uid, title, query in queries:
        if (uid, title) in NO_DATA:
            assert e2e.stack.query(query) == [], f"{uid} {title} has data now: drop it from NO_DATA"


def test_every_dashboard_annotation_is_accepted(e2e):
    for path in sorted((e2e.stack.generated / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for uid, name, expr in annotation_queries(dashboard):
            answer = requests.get(f"{e2e.stack.prometheus_url}/api/v1/query",
                                  params={"query": executable(dashboard, expr)}, timeout=10).json()
            assert answer["status"] == "success", (uid, name, answer.get("error"))


def test_a_revenue_dip_below_the_backfilled_average_reaches_finance(e2e, say):
    wait_for(lambda: e2e.stack.query("vigil:daily_revenue:baseline"), 120, interval=1,
             message="no baseline after the backfill")
    started = e2e.inject("revenue dip", _with_conn(e2e, lambda c: workload.revenue_dip(c, 0.9)))
    check_delivery(e2e, say, started, "DailyRevenue", receiver="signal-daily_revenue-warning",
                    recipients={"finance_team", "management"}, severity="warning",
                    team="finance", priority="P2", for_=overlays.FOR,
                    collection=sql_interval(e2e.stack, "vigil_business_daily_revenue"))


# -- last: the database goes away ---------------------------------------------------------

def test_database_stopped_pages_and_resolves_when_it_is_back(e2e, say):
    started = e2e.inject("database stopped", e2e.stack.stop_postgres)
    try:
        check_delivery(e2e, say, started, "DatabaseDown", receiver="severity-critical",
                        recipients=PAGED, severity="critical",
                        team="operations", priority="P0", for_=overlays.FOR)
    finally:
        recovered = time.time()
        e2e.stack.start_postgres()
    # The exporter retries with a backoff of up to 5 s (backoff_max in the stack).
    bound = 5 + COLLECTION + SCRAPE + EVALUATION + GROUP_INTERVAL + MARGIN
    resolved = delivered(e2e, bound + 30, alertname="DatabaseDown", status="resolved")
    elapsed = min(n.received_at for n in resolved) - recovered
    say(f"DatabaseDown: restart to resolved notification {elapsed:.1f}s (bound {bound:.0f}s)")
    assert elapsed <= bound
    resolved = to_everyone(e2e, PAGED, alertname="DatabaseDown", status="resolved")
    assert {n.recipient for n in resolved} == PAGED
