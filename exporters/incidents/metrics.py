"""The recorder's metrics: incidents from the store, the queue from memory.

The incident families are computed from the store (``store.totals``) by a periodic
task, not counted in memory: they survive restarts, agree between replicas, and a
counter only moves when the store does. Their names:

- ``vigil_incidents_opened_total{severity,priority,team}``: incidents opened;
- ``vigil_incidents_open{severity,priority,team}``: incidents not resolved yet;
- ``vigil_incidents_time_to_resolve_seconds{severity,priority}``: histogram of
  settled incidents' durations (see :mod:`.store`);
- ``vigil_incidents_time_to_acknowledge_seconds{severity,priority}``: histogram;
- ``vigil_incidents_response_target_breaches_total`` and
  ``vigil_incidents_resolution_target_breaches_total{severity,priority}``:
  incidents not acknowledged (or resolved) within the severity's response target,
  not resolved within its resolution target (open ones count once they are late);
- ``vigil_incidents_last_opened_timestamp_seconds{severity}``: when the newest
  incident of each severity started (time since the last incident is
  ``time() - ...``, recorded by the generated rules);
- ``vigil_incidents_store_created_timestamp_seconds``: when the store was created,
  so MTBF is measured over the time actually observed;
- ``vigil_incidents_recent_started_timestamp_seconds`` and
  ``vigil_incidents_recent_duration_seconds{id,alertname,severity,priority,team,state}``:
  the last ``store.RECENT`` incidents one by one (duration so far while open), for the
  overview's table of the last incidents without giving Grafana the database.

The queue's, from memory on every scrape: ``vigil_incidents_queue_items``,
``vigil_incidents_queue_capacity``, ``vigil_incidents_database_up``,
``vigil_incidents_notifications_refused_total``, ``vigil_incidents_alerts_received_total``,
``vigil_incidents_alerts_rejected_total{reason}``, ``vigil_incidents_alerts_ignored_total{reason}``
and ``vigil_incidents_store_write_failures_total``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric

from exporters.incidents.queue import Writer
from exporters.incidents.store import BUCKETS, totals

PREFIX = "vigil_incidents"


class Intake:
    """Counts of what arrived over HTTP (shared by the handler threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.rejected: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()

    def add(self, received: int, rejected: Counter[str], ignored: Counter[str]) -> None:
        with self._lock:
            self.received += received
            self.rejected.update(rejected)
            self.ignored.update(ignored)

    def snapshot(self) -> tuple[int, dict[str, int], dict[str, int]]:
        with self._lock:
            return self.received, dict(self.rejected), dict(self.ignored)


def _histogram(name: str, doc: str, rows: list[tuple[Any, ...]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["severity", "priority"])
    for row in rows:
        severity, priority, *counts = row
        count, total = int(counts[len(BUCKETS)]), float(counts[len(BUCKETS) + 1])
        buckets = [(repr(float(b)), int(c)) for b, c in zip(BUCKETS, counts, strict=False)]
        family.add_metric([severity, priority], [*buckets, ("+Inf", count)], total)
    return family


def store_families(conn: psycopg.Connection[Any], settle: float) -> list[Metric]:
    """Every incident family from one snapshot of the store."""
    data = totals(conn, settle)
    opened = CounterMetricFamily(f"{PREFIX}_opened", "Incidents opened.",
                                 labels=["severity", "priority", "team"])
    for severity, priority, team, count in data["opened"]:
        opened.add_metric([severity, priority, team], count)
    open_now = GaugeMetricFamily(f"{PREFIX}_open", "Incidents not resolved yet.",
                                 labels=["severity", "priority", "team"])
    for severity, priority, team, count in data["open"]:
        open_now.add_metric([severity, priority, team], count)
    families: list[Metric] = [opened, open_now]
    families.append(_histogram(f"{PREFIX}_time_to_resolve_seconds",
                               "From first firing to resolved, of settled incidents.",
                               data["resolve"]))
    families.append(_histogram(f"{PREFIX}_time_to_acknowledge_seconds",
                               "From first firing to acknowledged.", data["ack"]))
    for key, what in (("response", "acknowledged or resolved within the response target"),
                      ("resolution", "resolved within the resolution target")):
        family = CounterMetricFamily(f"{PREFIX}_{key}_target_breaches",
                                     f"Incidents not {what} of their severity.",
                                     labels=["severity", "priority"])
        for severity, priority, count in data[f"{key}_breaches"]:
            family.add_metric([severity, priority], count)
        families.append(family)
    last = GaugeMetricFamily(f"{PREFIX}_last_opened_timestamp_seconds",
                             "When the newest incident of each severity started.",
                             labels=["severity"])
    for severity, when in data["last_opened"]:
        last.add_metric([severity], float(when))
    families.append(last)
    recent_labels = ["id", "alertname", "severity", "priority", "team", "state"]
    started = GaugeMetricFamily(f"{PREFIX}_recent_started_timestamp_seconds",
                                "When each of the last incidents started.", labels=recent_labels)
    lasted = GaugeMetricFamily(f"{PREFIX}_recent_duration_seconds",
                               "How long each of the last incidents lasted (so far, if open).",
                               labels=recent_labels)
    for *labels, began, duration in data["recent"]:
        started.add_metric([str(v) for v in labels], float(began))
        lasted.add_metric([str(v) for v in labels], float(duration))
    families += [started, lasted]
    created = data["created"][0][0] if data["created"] else None
    if created is not None:
        families.append(GaugeMetricFamily(f"{PREFIX}_store_created_timestamp_seconds",
                                          "When the incident store was created.",
                                          value=float(created)))
    return families


def queue_families(writer: Writer, intake: Intake) -> list[Metric]:
    received, rejected, ignored = intake.snapshot()
    families: list[Metric] = [
        GaugeMetricFamily(f"{PREFIX}_queue_items", "Notifications and acknowledgements "
                          "waiting to be written to the store.", value=writer.depth),
        GaugeMetricFamily(f"{PREFIX}_queue_capacity", "Most items the queue holds.",
                          value=writer.capacity),
        GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the last write reached the store.",
                          value=1.0 if writer.database_up else 0.0),
        CounterMetricFamily(f"{PREFIX}_notifications_refused", "Notifications answered 503 "
                            "because the queue was full.", value=writer.refused_total),
        CounterMetricFamily(f"{PREFIX}_store_write_failures", "Failed attempts to write "
                            "to the store.", value=writer.write_failures_total),
        CounterMetricFamily(f"{PREFIX}_alerts_received", "Alerts in accepted notifications.",
                            value=received),
    ]
    for name, doc, counts in (("rejected", "Alerts refused by the input bounds, by reason.",
                               rejected),
                              ("ignored", "Alerts that are not incidents, by reason.", ignored)):
        family = CounterMetricFamily(f"{PREFIX}_alerts_{name}", doc, labels=["reason"])
        for reason, count in sorted(counts.items()):
            family.add_metric([reason], count)
        families.append(family)
    return families


def store_collector(connect: Callable[[], psycopg.Connection[Any]],
                    settle: float) -> Callable[[], list[Metric]]:
    """A PeriodicTask function holding its own (read-only) connection."""
    held: list[psycopg.Connection[Any]] = []

    def collect() -> list[Metric]:
        if not held or held[0].closed or held[0].broken:
            held[:] = [connect()]
            held[0].autocommit = True
        try:
            return store_families(held[0], settle)
        except psycopg.Error:
            held[0].close()
            held.clear()
            raise
    return collect
