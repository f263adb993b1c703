"""Incidents in PostgreSQL: one per alert fingerprint, from first firing to resolved.

How a notification changes the store (``apply``), for the newest incident of the
event's fingerprint:

- firing, incident open: the same incident (a repeat, a re-notification, another
  route's receiver, an escalation): notifications, receivers and the escalation level
  reached are updated;
- firing, incident resolved at R, alert started at S: S <= R is a late copy of the
  notification that opened it (ignored); S - R within the duplicate-suppression
  interval is a **flap**, which continues (re-opens) the incident, unless it is
  already *settled* (see below), in which case it opens a new one; later, a new one;
- resolved: the open incident is resolved at the alert's `endsAt`; a resolution of
  an alert never seen firing (the recorder was down) records the whole incident.

An incident is *settled* once its resolution is older than twice the suppression
interval (``Policy.settle``: a flap starts within one interval, and Alertmanager
delivers it within one more): it can no longer be continued, so only settled incidents enter the
time-to-resolve histogram. That keeps every exported counter monotonic, which is
what `increase()` in the MTTR rules needs.

Labels arrive from outside: every value reaches PostgreSQL as a bound parameter,
never as SQL text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from exporters.incidents.payload import AlertEvent
from exporters.incidents.policy import Policy
from exporters.incidents.schema import SCHEMA

T = f"{SCHEMA}.incidents"
MAX_ACK_BY_LENGTH = 128

# Seconds; the histogram buckets of both time-to-* metrics (5 min .. 7 days).
BUCKETS: tuple[float, ...] = (300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800)


class AckError(ValueError):
    """The acknowledgement cannot be recorded (unknown incident, bad name)."""


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Ack:
    """An acknowledgement, queued like a notification when it comes over HTTP."""

    incident: int
    by: str
    at: float


def check_ack(incident: Any, by: Any) -> tuple[int, str]:
    """A valid (incident id, who) or :class:`AckError` saying what is wrong."""
    if isinstance(incident, bool) or not isinstance(incident, int | str):
        raise AckError("incident must be a number")
    text = str(incident).strip()
    if not text.isdigit() or len(text) > 18:
        raise AckError("incident must be a positive number")
    if not isinstance(by, str) or not by.strip():
        raise AckError("say who acknowledges (a name)")
    by = by.strip()
    if len(by) > MAX_ACK_BY_LENGTH or not by.isprintable():
        raise AckError(f"the name must be printable and at most {MAX_ACK_BY_LENGTH} characters")
    return int(text), by


class Store:
    """Reads and writes incidents over one connection (the caller owns its thread)."""

    def __init__(self, conn: psycopg.Connection[Any], policy: Policy) -> None:
        self.conn = conn
        self.policy = policy

    # -- writing ----------------------------------------------------------------
    def apply_all(self, items: Sequence[AlertEvent | Ack]) -> None:
        """Apply queued items in order, in one transaction (all or none)."""
        with self.conn.transaction():
            for item in items:
                if isinstance(item, Ack):
                    self._ack(item)
                else:
                    self._apply(item)

    def _latest(self, fingerprint: str) -> dict[str, Any] | None:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(f"SELECT id, started_at, resolved_at FROM {T} WHERE fingerprint = %s "
                        "ORDER BY started_at DESC, id DESC LIMIT 1 FOR UPDATE", (fingerprint,))
            return cur.fetchone()

    def _apply(self, event: AlertEvent) -> None:
        latest = self._latest(event.fingerprint)
        starts = event.starts_at
        if latest is not None and latest["resolved_at"] is None:
            self._touch(latest["id"], event, resolved=event.ends_at
                        if event.status == "resolved" and event.escalation_level == 1 else None)
            return
        if event.status == "resolved" and event.escalation_level > 1:
            return  # an escalation ending says nothing the original's resolution does not
        if latest is not None:
            resolved = latest["resolved_at"].timestamp()
            if starts <= resolved:
                return  # a late copy of what the store already has
            suppression = self.policy.suppression
            if starts - resolved <= suppression and time.time() - resolved <= self.policy.settle:
                self._continue(latest["id"], event)  # a flap, and the incident is not settled
                return
        self._open(event)

    def _open(self, event: AlertEvent) -> None:
        labels = event.labels
        severity = labels.get("severity", "")
        targets = self.policy.severities.get(severity)
        self.conn.execute(
            f"""INSERT INTO {T} (fingerprint, alertname, severity, priority, team, signal,
                summary, labels, started_at, resolved_at, last_notified_at, receivers,
                escalation_level, response_target_seconds, resolution_target_seconds)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (event.fingerprint, labels.get("alertname", ""), severity,
             targets.priority if targets else labels.get("priority", ""),
             labels.get("team", ""), labels.get("signal") or labels.get("slo", ""),
             event.summary, json.dumps(dict(labels)), _ts(event.starts_at),
             _ts(max(event.ends_at, event.starts_at)) if event.ends_at is not None else None,
             _ts(event.received_at), [event.receiver] if event.receiver else [],
             event.escalation_level, targets.response if targets else None,
             targets.resolution if targets else None))

    def _touch(self, incident: int, event: AlertEvent, resolved: float | None) -> None:
        self.conn.execute(
            f"""UPDATE {T} SET
                last_notified_at = greatest(last_notified_at, %(now)s),
                notifications = notifications + 1,
                receivers = CASE WHEN %(receiver)s = '' OR %(receiver)s = ANY(receivers)
                            THEN receivers ELSE receivers || %(receiver)s END,
                escalation_level = greatest(escalation_level, %(level)s),
                summary = CASE WHEN %(level)s = 1 AND %(summary)s <> '' THEN %(summary)s
                          ELSE summary END,
                started_at = CASE WHEN %(level)s = 1 THEN least(started_at, %(starts)s)
                             ELSE started_at END,
                resolved_at = CASE WHEN %(resolved)s::timestamptz IS NULL THEN NULL
                              ELSE greatest(%(resolved)s::timestamptz, started_at) END
                WHERE id = %(id)s""",
            {"now": _ts(event.received_at), "receiver": event.receiver,
             "level": event.escalation_level, "summary": event.summary,
             "starts": _ts(event.starts_at),
             "resolved": _ts(resolved) if resolved is not None else None, "id": incident})

    def _continue(self, incident: int, event: AlertEvent) -> None:
        self.conn.execute(f"UPDATE {T} SET flaps = flaps + 1 WHERE id = %s", (incident,))
        self._touch(incident, event, resolved=event.ends_at if event.status == "resolved" else None)

    def _ack(self, ack: Ack) -> bool:
        row = self.conn.execute(
            f"UPDATE {T} SET acknowledged_at = greatest(%s, started_at), acknowledged_by = %s "
            "WHERE id = %s AND acknowledged_at IS NULL RETURNING id",
            (_ts(ack.at), ack.by, ack.incident)).fetchone()
        return row is not None

    def acknowledge(self, incident: int, by: str, at: float) -> dict[str, Any]:
        """Record who acknowledged; a second acknowledgement keeps the first. Raises AckError."""
        with self.conn.transaction():
            if not self._ack(Ack(incident, by, at)) and self.get(incident) is None:
                raise AckError(f"no incident {incident}")
        found = self.get(incident)
        assert found is not None
        return found

    # -- reading ----------------------------------------------------------------
    def get(self, incident: int) -> dict[str, Any] | None:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(f"SELECT * FROM {T} WHERE id = %s", (incident,))
            return cur.fetchone()

    def incidents(self, since: float | None = None, until: float | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
        """Incidents active in [since, until] (open ones included), newest first."""
        clauses, params = [], []
        if since is not None:
            clauses.append("coalesce(resolved_at, now()) >= %s")
            params.append(_ts(since))
        if until is not None:
            clauses.append("started_at <= %s")
            params.append(_ts(until))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(f"SELECT * FROM {T} {where} ORDER BY started_at DESC, id DESC LIMIT %s",
                        (*params, max(1, min(limit, 100_000))))
            return list(cur.fetchall())


def _bucket_columns(expr: str) -> str:
    return ", ".join(f"count(*) FILTER (WHERE {expr} <= {float(b)!r})" for b in BUCKETS)


# Incidents the metrics list one by one (the overview's "Last incidents" table): few, so
# that each incident's own series (labelled by its id) cost Prometheus next to nothing.
RECENT = 10


def totals(conn: psycopg.Connection[Any], settle: float) -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate the metrics need, read in one repeatable snapshot."""
    resolve = "extract(epoch FROM resolved_at - started_at)"
    ack = "extract(epoch FROM acknowledged_at - started_at)"
    queries = {
        "opened": f"SELECT severity, priority, team, count(*) FROM {T} GROUP BY 1, 2, 3",
        "open": f"SELECT severity, priority, team, count(*) FROM {T} "
                "WHERE resolved_at IS NULL GROUP BY 1, 2, 3",
        "resolve": f"SELECT severity, priority, {_bucket_columns(resolve)}, count(*), "
                   f"coalesce(sum({resolve}), 0) FROM {T} WHERE resolved_at IS NOT NULL "
                   f"AND resolved_at <= now() - make_interval(secs => {float(settle)!r}) "
                   "GROUP BY 1, 2",
        "ack": f"SELECT severity, priority, {_bucket_columns(ack)}, count(*), "
               f"coalesce(sum({ack}), 0) FROM {T} WHERE acknowledged_at IS NOT NULL "
               "GROUP BY 1, 2",
        "response_breaches": f"""SELECT severity, priority, count(*) FROM {T}
            WHERE response_target_seconds IS NOT NULL AND extract(epoch FROM
            coalesce(least(acknowledged_at, resolved_at), now()) - started_at)
            > response_target_seconds GROUP BY 1, 2""",
        "resolution_breaches": f"""SELECT severity, priority, count(*) FROM {T}
            WHERE resolution_target_seconds IS NOT NULL AND extract(epoch FROM
            coalesce(resolved_at, now()) - started_at) > resolution_target_seconds
            GROUP BY 1, 2""",
        "last_opened": f"SELECT severity, extract(epoch FROM max(started_at)) FROM {T} GROUP BY 1",
        "recent": f"""SELECT id::text, alertname, severity, priority, team,
            CASE WHEN resolved_at IS NOT NULL THEN 'resolved'
                 WHEN acknowledged_at IS NOT NULL THEN 'acknowledged' ELSE 'open' END,
            extract(epoch FROM started_at),
            extract(epoch FROM coalesce(resolved_at, now()) - started_at)
            FROM {T} ORDER BY started_at DESC, id DESC LIMIT {RECENT}""",
        "created": f"SELECT extract(epoch FROM min(applied_at)) FROM {SCHEMA}.schema_version",
    }
    result: dict[str, list[tuple[Any, ...]]] = {}
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, query in queries.items():
            result[name] = [tuple(row) for row in conn.execute(query).fetchall()]
    return result


def duration(row: dict[str, Any]) -> float | None:
    if row.get("resolved_at") is None:
        return None
    return (row["resolved_at"] - row["started_at"]).total_seconds()


def rows_as_json(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Incidents for JSON output: times as RFC 3339, the duration in seconds."""
    out = []
    for row in rows:
        item = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        item["duration_seconds"] = duration(row)
        out.append(item)
    return out
