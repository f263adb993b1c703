"""Wire the sql exporter: each configured query is its own periodic task.

Why one task and one connection per query: business queries differ in cost
by orders of magnitude. Sharing a schedule or a connection would let one
slow report delay every other metric; separately, a query that hangs only
stalls its own series. Each run is a read-only transaction whose
``statement_timeout`` is the query's timeout, so the server cancels a slow
query itself (see :mod:`exporters.postgres.session`).

Scrapes serve each query's last result. A failed run — error, timeout,
cardinality limit — drops that query's series at once (no stale values), is
counted in ``vigil_sql_query_errors_total{query}`` and named, until the next
success, by ``vigil_sql_query_last_error_info{query,reason}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter, Source
from exporters.common.tasks import PeriodicTask
from exporters.postgres.session import PgSession, SourceUnavailable, answer_deadline
from exporters.sql import query as sql_query
from exporters.sql.config import QuerySpec, SqlSettings, parse_settings
from exporters.sql.watermark import WatermarkCounter

PREFIX = "vigil_sql"
log = logging.getLogger(__name__)
APPLICATION_NAME = "vigil-sql"


def application_name(spec: QuerySpec) -> str:
    """What ``pg_stat_activity`` shows for the query's connection (max 63 bytes)."""
    return f"{APPLICATION_NAME}:{spec.name}"[:63]


def _query_task(spec: QuerySpec, session: PgSession, settings: SqlSettings,
                reasons: dict[str, str]) -> PeriodicTask:
    query: Callable[[Any], list[Metric]] = (
        WatermarkCounter(spec).run if spec.watermark is not None
        else lambda cursor: sql_query.run(spec, cursor))

    def run() -> list[Metric]:
        # Until the run returns, a failure is a timeout: the task records it
        # as such if the run never comes back.
        reasons[spec.name] = "timeout"
        try:
            result = session.run(query, timeout=spec.timeout)
        except sql_query.QueryError as exc:
            reasons[spec.name] = exc.reason
            raise
        except (SourceUnavailable, psycopg.OperationalError):
            reasons[spec.name] = "unavailable"
            raise
        except Exception:
            reasons[spec.name] = "error"
            raise
        reasons.pop(spec.name, None)
        return result

    # The server enforces spec.timeout and the session drops a server that
    # stops answering; the task's own limit is a backstop.
    budget = settings.connect_timeout + answer_deadline(spec.timeout) + 1.0
    return PeriodicTask(spec.name, run, interval=spec.interval, timeout=budget)


def query_families(tasks: Sequence[PeriodicTask],
                   reasons: Mapping[str, str] | None = None) -> list[Metric]:
    """Per-query self-metrics, from each task's last recorded state.

    ``reasons`` maps a query whose last run failed to one of
    :data:`exporters.sql.query.REASONS`.
    """
    success = GaugeMetricFamily(
        "vigil_sql_query_success", "Whether the query's last run succeeded (1) or not (0).",
        labels=["query"],
    )
    duration = GaugeMetricFamily(
        "vigil_sql_query_duration_seconds", "Duration of the query's last run.",
        labels=["query"],
    )
    errors = CounterMetricFamily(
        "vigil_sql_query_errors_total",
        "Failed runs of the query: errors, timeouts and cardinality-limit violations.",
        labels=["query"],
    )
    last_success = GaugeMetricFamily(
        "vigil_sql_query_last_success_timestamp_seconds",
        "Unix time of the query's last successful run (0 if it never succeeded).",
        labels=["query"],
    )
    interval = GaugeMetricFamily(
        "vigil_sql_query_interval_seconds",
        "How often the query runs: its last success older than twice this is stale.",
        labels=["query"],
    )
    last_error = GaugeMetricFamily(
        "vigil_sql_query_last_error_info",
        "Present (1) while the query's last run failed; `reason` says why"
        " (not_one_statement and read_only mean the query tried to write).",
        labels=["query", "reason"],
    )
    for task in tasks:
        state = task.state()
        errors.add_metric([task.name], state.failures_total)
        last_success.add_metric([task.name], state.last_success_at)
        interval.add_metric([task.name], task.interval)
        if state.ran:
            success.add_metric([task.name], 1 if state.success else 0)
            duration.add_metric([task.name], state.duration)
            if not state.success:
                last_error.add_metric([task.name, (reasons or {}).get(task.name, "error")], 1)
    return [success, duration, errors, last_success, interval, last_error]


def build_exporter(settings: SqlSettings) -> Exporter:
    """An :class:`Exporter` running every query of ``settings`` (not started)."""
    sessions = [
        PgSession(
            settings.dsn,
            password=settings.password,
            application_name=application_name(spec),
            connect_timeout=settings.connect_timeout,
            backoff_initial=min(1.0, settings.backoff_max),
            backoff_max=settings.backoff_max,
        )
        for spec in settings.queries
    ]
    reasons: dict[str, str] = {}
    tasks = [
        _query_task(spec, session, settings, reasons)
        for spec, session in zip(settings.queries, sessions, strict=True)
    ]
    if sessions:
        log.info("running %d queries against %s", len(tasks), sessions[0].redacted_dsn)
    return Exporter(
        PREFIX,
        sources=[Source("queries", lambda: query_families(tasks, reasons),
                        self_metrics=False)],
        tasks=tasks,
        on_stop=[session.close for session in sessions],
    )


def build(config: ConfigNode) -> Exporter:
    """Entry point used by ``vigil exporter sql``."""
    return build_exporter(parse_settings(config))
