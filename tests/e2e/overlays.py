"""Spec overlays of the end-to-end tests: scaled timings, a database alert, a window now.

Everything the end-to-end stack runs is generated from a spec that `extends` the
demo spec; these are the few keys the tests change, written in spec syntax so the
real generator turns them into rules and routing (nothing generated is edited).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

ESCALATION_AFTER = 40.0  # seconds before a critical alert reaches level 2
FOR = 4.0  # `for` of the signals the faults raise
ABSENT_GRACE = 10.0  # seconds a new target has before its missing series count as absent
HEARTBEAT = 5.0  # seconds between the Watchdog's posts to the heartbeat receiver
# A custom signal whose expression Prometheus cannot evaluate (many-to-many matching:
# several CPU modes on each side of `on (job)`), for the rule-failure alert.
FAILING_SIGNAL = "rule_failure_probe"
FAILING_TITLE = "Rule failure probe"


def timings_overlay(alertmanagers: list[str]) -> dict[str, Any]:
    """Timings short enough for a test of minutes, and a database-down signal.

    A new target's grace before absent data counts is seconds too, so every signal's
    absent-data rule is judging by the time the tests run (its `absent_for` stays the
    spec's 10m, except memory_usage's, whose metric tests/e2e/test_absent_live.py removes).

    Only signals whose value does not follow the clock get a `for` of seconds: the
    generated promtool tests of age signals (backup age) expect whole minutes, so
    `wal_backup_age` keeps the demo spec's 1m (the stack ages the backups early).
    `database_down` is declared here because neither the default nor the demo spec
    has a signal for a stopped database (the exporters report it as `vigil_pg_up 0`).
    `rule_failure_probe` fails at every evaluation, on purpose (FAILING_SIGNAL).
    """
    for_ = f"{FOR:g}s"
    return {
        "alertmanager": alertmanagers,
        "duplicate_suppression": "10s",
        "defaults": {"absent_grace": f"{ABSENT_GRACE:g}s"},
        "monitoring": {"target_down": {"for": for_}, "for": for_,
                       "heartbeat": {"repeat_interval": f"{HEARTBEAT:g}s"}},
        "severities": {"critical": {"escalation": [
            {"after": f"{ESCALATION_AFTER:g}s", "notify": ["technical_support"]}]}},
        "signals": {
            "error_rate": {"for": for_},
            "endpoint_down": {"for": for_},
            "daily_revenue": {"for": for_},
            "memory_usage": {"absent_for": for_},  # its metric is dropped by test_absent.py
            "database_down": {
                "title": "Database down",
                "description": "The postgres exporter cannot reach the database server.",
                "runbook": "Check that PostgreSQL runs and accepts connections.",
                "expr": "1 - min by (instance) (vigil_pg_up{$sel})",
                "unit": "ratio",
                "exporter": "postgres",
                "dashboard": "database",
                "critical": "> 50%",  # 0 or 1 per instance
                "for": for_,
            },
            FAILING_SIGNAL: {
                "title": FAILING_TITLE,
                "description": "Fails to evaluate, so that the rule-failure alert is seen firing.",
                "expr": "vigil_host_cpu_seconds_total{$sel} * on (job) "
                        "vigil_host_cpu_seconds_total{$sel}",
                "unit": "count",
                "exporter": "host",
                "dashboard": "infrastructure",
            },
        },
    }


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def maintenance_covering(now: datetime, severities: list[str],
                         before: timedelta = timedelta(minutes=10),
                         after: timedelta = timedelta(minutes=30)) -> dict[str, Any]:
    """A spec `maintenance` section (UTC) whose windows cover `now - before .. now + after`.

    Alertmanager's time ranges do not cross midnight, so a span that does becomes two
    daily windows: to 24:00, and from 00:00 on.
    """
    now = now.replace(second=0, microsecond=0)
    midnight = now.replace(hour=0, minute=0)
    start, end = max(now - before, midnight), now + after + timedelta(minutes=1)
    windows: dict[str, Any] = {}
    next_midnight = midnight + timedelta(days=1)
    if end > next_midnight:
        windows["now_after_midnight"] = {"days": "every day", "start": "00:00",
                                         "end": _clock(end), "severities": severities}
        end = next_midnight
    windows["now"] = {"days": "every day", "start": _clock(start),
                      "end": "24:00" if end == next_midnight else _clock(end),
                      "severities": severities}
    return {"timezone": "UTC", "windows": windows}
