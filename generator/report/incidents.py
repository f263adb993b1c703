"""The period's incidents from the incident store, and what they say about reliability.

MTTR and MTBF here are computed from the incident rows themselves, exactly, for the
report's period (the rules' `vigil:mttr:seconds` is the same measure from the
recorder's counters, for dashboards and alerts):

- MTTR: mean duration of the failures (incidents of `reliability.severities`)
  resolved in the period;
- MTBF: the period divided by the failures that started in it (none: no value, and
  the report says "no failures" rather than a number).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from generator.model import Spec
from generator.report.prometheus import ReportError


@dataclass
class Incidents:
    rows: list[dict[str, Any]] = field(default_factory=list)  # active in the period, newest first
    opened: Counter[str] = field(default_factory=Counter)  # severity -> started in the period
    mttr: float | None = None
    mtbf: float | None = None
    failures: int = 0
    response_breaches: Counter[str] = field(default_factory=Counter)  # priority -> count
    resolution_breaches: Counter[str] = field(default_factory=Counter)


def _seconds(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def summarise(spec: Spec, rows: list[dict[str, Any]], start: float, end: float) -> Incidents:
    result = Incidents(rows=rows)
    durations = []
    for row in rows:
        started, resolved = _seconds(row["started_at"]), _seconds(row["resolved_at"])
        acked = _seconds(row["acknowledged_at"])
        assert started is not None
        failure = row["severity"] in spec.failure_severities
        if start <= started <= end:
            result.opened[row["severity"]] += 1
            result.failures += failure
            responded = min(x for x in (acked, resolved, end) if x is not None)
            target = row["response_target_seconds"]
            if target is not None and responded - started > target:
                result.response_breaches[row["priority"]] += 1
            target = row["resolution_target_seconds"]
            if target is not None and (resolved if resolved is not None else end) - started > target:
                result.resolution_breaches[row["priority"]] += 1
        if failure and resolved is not None and start <= resolved <= end:
            durations.append(resolved - started)
    result.mttr = sum(durations) / len(durations) if durations else None
    result.mtbf = (end - start) / result.failures if result.failures else None
    return result


def read(spec: Spec, dsn: str, start: float, end: float) -> Incidents:
    """The incidents active in [start, end]; a store that cannot be read is a ReportError."""
    import psycopg

    from exporters.incidents.cli import connector
    from exporters.incidents.policy import Policy
    from exporters.incidents.schema import current_version
    from exporters.incidents.store import Store

    try:
        with connector(dsn)() as conn:
            if current_version(conn) == 0:
                return Incidents()  # no recorder has written there yet: no incidents
            rows = Store(conn, Policy({}, 0.0)).incidents(since=start, until=end, limit=10_000)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        from exporters.common.secrets import redact

        raise ReportError(f"cannot read the incident store: {redact(first)}") from None
    return summarise(spec, rows, start, end)
