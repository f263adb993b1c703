"""The end-to-end stack and the helpers its tests share (see tests/e2e/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml

from generator.demo import history
from generator.demo.receiver import Notification, WebhookReceiver
from generator.demo.stack import Stack, alertmanager_binary, missing_tools
from tests.e2e import overlays
from tests.e2e.processes import (
    VICTORIA_METRICS,
    VMALERT,
    Server,
    wait_for,
)

# Every module on the session stack: it needs these tools, and it is slow.
STACK_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason=f"missing: {missing_tools()}"),
    pytest.mark.skipif(VICTORIA_METRICS is None or VMALERT is None,
                       reason="victoria-metrics and vmalert are not installed"),
]

SCRAPE = 2.0  # scrape and evaluation interval, seconds
EVALUATION = 2.0
COLLECTION = 2.0  # the exporters' collection interval in the stack (its "fast" interval)
GROUP_WAIT = 1.0  # what the generator derives from duplicate_suppression 10s
GROUP_INTERVAL = 10.0
# What a notification may take beyond the pipeline's intervals: the exporters' query
# time, the webhook round-trip and a busy 2-core CI machine.
MARGIN = 15.0
ERROR_SHARE = 0.5  # of storefront requests failing during the error spike
PAGED = {"on_call_engineer", "team_lead", "cto"}  # the critical severity's recipients
RETENTION = "60d"  # Prometheus's default 15d would drop the backfilled weeks
VMALERT_LABEL = ("rule_engine", "vmalert")




class RetainingStack(Stack):
    """The demo stack with Prometheus keeping weeks of backfilled history.

    Stack starts Prometheus with the default retention (15 days), which would delete
    the older backfilled blocks at the next block reload.
    """

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        if name == "prometheus":
            argv = [*argv, f"--storage.tsdb.retention.time={RETENTION}"]
        super()._spawn(name, argv, env)


@dataclass
class E2E:
    stack: Stack
    maintenance: WebhookReceiver
    maintenance_alertmanager: Server
    victoria_metrics: Server
    vmalert: Server
    history_until: float
    started_at: float  # when the stack started (time.time())
    faults: dict[str, float] = field(default_factory=dict)

    def inject(self, name: str, action: Callable[[], Any]) -> float:
        """Run a fault once per module; return when it started (time.time())."""
        if name not in self.faults:
            self.faults[name] = time.time()
            action()
        return self.faults[name]


def prometheus_only(notes: list[Notification]) -> list[Notification]:
    return [n for n in notes if VMALERT_LABEL[0] not in n.labels]


def generate(spec: Path, out: Path) -> None:
    from generator.commands import render
    from generator.loader import load_spec
    from generator.output import write_atomically

    write_atomically(out, render(load_spec(spec)))


def start_maintenance_alertmanager(stack: Stack, work: Path, port: int,
                                    receiver: WebhookReceiver) -> Server:
    """An Alertmanager generated from the stack's spec plus a window covering now."""
    receivers = {}
    for name, body in stack.spec.receivers.items():
        hook = body.integrations.get("webhook")
        if hook:
            parts = urlsplit(hook["url"])
            receivers[name] = {"webhook": {"url": urlunsplit(
                parts._replace(netloc=f"127.0.0.1:{receiver.port}"))}}
    spec = work / "maintenance.yaml"
    spec.write_text(yaml.safe_dump({
        "extends": str(stack.spec.source),
        "maintenance": overlays.maintenance_covering(datetime.now(UTC), ["warning"]),
        "receivers": receivers,
        # One Alertmanager posts the heartbeat: this one's would reach the stack's receiver.
        "monitoring": {"heartbeat": {"url": None}},
    }))
    generate(spec, work / "maintenance")
    binary = alertmanager_binary()
    assert binary is not None
    return Server("alertmanager (maintenance)", [
        binary, f"--config.file={work}/maintenance/deploy/alertmanager/alertmanager.yml",
        f"--storage.path={work}/maintenance-am", f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ], port, work / "maintenance-alertmanager.log", ready_path="/-/ready")


def remote_write_to(stack: Stack, url: str) -> None:
    """Add `remote_write` to the stack's Prometheus configuration and reload it.

    The generator has no remote_write knob, so the stack's adapted copy of the
    generated prometheus.yml gets one. Recorded series and alert state are not sent:
    vmalert must compute them itself from the raw exporter data.
    """
    path = stack.generated / "deploy/prometheus/prometheus.demo.yml"
    config = yaml.safe_load(path.read_text())
    config["remote_write"] = [{
        "url": f"{url}/api/v1/write",
        "queue_config": {"batch_send_deadline": "1s"},
        "write_relabel_configs": [{"source_labels": ["__name__"],
                                   "regex": ".*:.*|ALERTS|ALERTS_FOR_STATE", "action": "drop"}],
    }]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    requests.post(f"{stack.prometheus_url}/-/reload", timeout=10).raise_for_status()


def _predictive(rule: dict[str, Any]) -> bool:
    """A forecast alert or an anomaly band: it reads its signal's past, but the demo need
    not have every such signal yet (no 5xx answered, no error rate)."""
    return rule.get("alert", "").endswith("Forecast") or ":band_" in rule.get("record", "")


def _required(rules_file: Path) -> set[history.Series]:
    """Series read at an offset by rules other than forecasts and anomaly bands."""
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return set(history.offset_series(
        [{"rules": [r for r in g["rules"] if not _predictive(r)]} for g in groups]))


def backfill(stack: Stack) -> float:
    """Four weeks of history for every series a baseline rule reads, and for those of
    the forecasts and anomaly bands that have a value; returns its end."""
    series = []
    required: set[history.Series] = set()
    for rules_file in sorted((stack.generated / "alert_rules").glob("*.rules.yml")):
        series += history.offset_series_of_file(rules_file)
        required |= _required(rules_file)
    assert series, "the generated rules read no series at an offset"

    def every_level() -> dict[history.Series, float] | None:
        levels = history.current_levels(stack.prometheus_url, series)
        return levels if required <= set(levels) else None

    levels = wait_for(every_level, 30, interval=0.5,
                      message=f"no value yet for {[s.selector() for s in series]}")
    end = time.time() - 60
    work = stack.run_dir / "history"
    for rules_file in sorted((stack.generated / "alert_rules").glob("*.rules.yml")):
        mine = {s: v for s, v in levels.items() if s in history.offset_series_of_file(rules_file)}
        if mine:
            history.backfill(rules_file, mine, stack.run_dir / "data/prometheus", end, work)
    return end


# -- waiting for notifications ------------------------------------------------------

def delivered(e2e: E2E, timeout: float, **labels: str) -> list[Notification]:
    try:
        return wait_for(lambda: prometheus_only(e2e.stack.receiver.matching(**labels)), timeout,
                        interval=0.2)
    except AssertionError:
        got = sorted({(n.alertname, n.severity, n.status) for n in e2e.stack.receiver.notifications})
        raise AssertionError(f"no notification {labels} within {timeout:.0f}s; got {got}") from None


def to_everyone(e2e: E2E, recipients: set[str], **labels: str) -> list[Notification]:
    """The matching notifications once each recipient has one (or after 10 s).

    Each recipient is its own webhook call: the first may land before the others.
    """
    def matching() -> list[Notification]:
        return prometheus_only(e2e.stack.receiver.matching(**labels))

    with contextlib.suppress(AssertionError):
        wait_for(lambda: {n.recipient for n in matching()} >= recipients, 10, interval=0.2)
    return matching()


def delivery_bound(for_: float, collection: float = COLLECTION) -> float:
    return collection + SCRAPE + EVALUATION + for_ + GROUP_WAIT + MARGIN


def sql_interval(stack: Stack, metric: str) -> float:
    """How often the stack's sql exporter runs the query behind `metric`.

    The business queries keep their own intervals (30 s, 60 s) from the queries file,
    so a business fault can wait that long before any scrape sees it.
    """
    from exporters.common.config import load_config
    from exporters.sql.config import parse_queries

    # Only the queries: the password is in the environment of the exporter, not of this
    # process, and patching os.environ here would race the threads that read it.
    queries = parse_queries(load_config(stack.run_dir / "exporters/sql.yml"))
    return next(q.interval for q in queries if q.metric == metric)


def check_delivery(e2e: E2E, say: Callable[[str], None], started: float, alertname: str, *,
                    receiver: str, recipients: set[str], severity: str, team: str, priority: str,
                    for_: float, collection: float = COLLECTION, fill: float = 0.0,
                    **labels: str) -> list[Notification]:
    bound = delivery_bound(for_, collection) + fill
    notes = delivered(e2e, bound + 30, alertname=alertname, status="firing", severity=severity,
                       **labels)
    notes = to_everyone(e2e, recipients, alertname=alertname, status="firing",
                         severity=severity, **labels)
    elapsed = min(n.received_at for n in notes) - started
    say(f"{alertname}: fault to notification {elapsed:.1f}s (bound {bound:.0f}s = collection "
        f"{collection:g} + scrape {SCRAPE:g} + evaluation {EVALUATION:g} + for {for_:g} + "
        f"group_wait {GROUP_WAIT:g} + margin {MARGIN:g}"
        + (f" + window fill {fill:.1f})" if fill else ")"))
    assert elapsed <= bound
    assert {n.receiver for n in notes} == {receiver}
    assert {n.recipient for n in notes} == recipients
    assert {(n.severity, n.team, n.priority) for n in notes} == {(severity, team, priority)}
    return notes


def age_the_wal_backups(e2e: E2E) -> Callable[[], None]:
    def run() -> None:
        two_hours_ago = time.time() - 7200
        for path in (e2e.stack.run_dir / "backups/wal").iterdir():
            os.utime(path, (two_hours_ago, two_hours_ago))
    return run




# -- incidents ------------------------------------------------------------------------

PROBE_INCIDENT = {"alertname": "ReportProbe", "severity": "critical", "priority": "P0",
                  "team": "operations", "environment": "demo", "instance": "report-probe"}
PROBE_SECONDS = 90.0  # how long the probe incident lasted


def incident_rows(e2e: E2E, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query over the stack's incident store."""
    import psycopg

    with psycopg.connect(e2e.stack.incidents_dsn, autocommit=True) as conn:
        try:
            return list(conn.execute(sql, params).fetchall())
        except psycopg.errors.UndefinedTable:  # the recorder has not migrated yet
            return []


def _post_probe(e2e: E2E, starts: float, ends: float) -> None:
    def iso(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    requests.post(f"{e2e.stack.alertmanager_url}/api/v2/alerts", timeout=5, json=[{
        "labels": PROBE_INCIDENT, "annotations": {"summary": "a probe incident for the report"},
        "startsAt": iso(starts), "endsAt": iso(ends)}]).raise_for_status()


def record_probe_incident(e2e: E2E) -> None:
    """A critical incident of PROBE_SECONDS, fired and resolved through the stack's
    Alertmanager, so MTTR, MTBF and the report have a finished incident to measure.
    It stays in the store (resolved): the stack's incidents are never counted exactly."""
    start = time.time() - PROBE_SECONDS - 5
    _post_probe(e2e, start, time.time() + 3600)
    time.sleep(2)
    _post_probe(e2e, start, start + PROBE_SECONDS)
    wait_for(lambda: incident_rows(e2e, "SELECT 1 FROM vigil_incidents.incidents WHERE "
                                        "alertname = %s AND resolved_at IS NOT NULL",
                                   (PROBE_INCIDENT["alertname"],)), 60, interval=0.5,
             message="the probe incident was not recorded as resolved")


def evaluated_rules(rules_api: str, query_url: str, wait: float,
                    engine: str = "Prometheus") -> list[dict[str, Any]]:
    """Every rule a rule engine loaded (`rules_api`: its /api/v1/rules), once each was
    evaluated, with its health.

    A group evaluated less often than the wait (an SLO's tiles every 5 minutes or every
    hour, the capacity projections) may not have run yet: its rules are evaluated here as
    queries instead (on `query_url`, a Prometheus), and their health is the query's.
    """
    def evaluated() -> list[dict[str, Any]] | None:
        groups = requests.get(rules_api, timeout=10).json()["data"]["groups"]
        rules = [r for g in groups if g.get("interval", 0) <= wait for r in g["rules"]]
        slow = [r for g in groups if g.get("interval", 0) > wait for r in g["rules"]]
        if not rules or not all(r.get("lastEvaluation", "").startswith("20") for r in rules):
            return None
        for rule in slow:
            if not rule.get("lastEvaluation", "").startswith("20"):
                answer = requests.get(f"{query_url}/api/v1/query", timeout=10,
                                      params={"query": rule["query"]}).json()
                rule = rule | {"health": "ok" if answer["status"] == "success" else "err",
                               "lastError": answer.get("error")}
            rules.append(rule)
        return rules

    return wait_for(evaluated, wait, interval=0.5, message=f"{engine} evaluated not every rule")
