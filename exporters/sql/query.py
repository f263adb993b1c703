"""Run one query as exactly one statement and turn its result into one metric family.

Why one statement, enforced by the protocol: a configured query is text the
exporter does not control. Sent through PostgreSQL's simple query protocol,
``SELECT 1) a; COMMIT; DELETE FROM t; SELECT * FROM (SELECT 1`` is four
statements, and the ``COMMIT`` ends the read-only transaction and its
timeout. The statement is therefore sent with a bound parameter (the row
limit, ``$1``) through :class:`psycopg.RawCursor`, so psycopg uses the
extended protocol (Parse/Bind/Execute), whose Parse message PostgreSQL
refuses outright when it holds more than one statement ("cannot insert
multiple commands into a prepared statement"). No parser of ours decides.

Why the result checks: the result of a hand-written SQL statement is
untrusted input. A label column that suddenly holds user ids would create
thousands of series in Prometheus; a duplicated label set would make the
exposition invalid; two columns of the same name would make "the value"
ambiguous; a text column where a number belongs is a bug in the query. Each
of these raises :class:`QueryError` with the query's name and the cause, the
run counts as failed (``vigil_sql_query_errors_total`` rises) and the
query's series are dropped rather than half-served.

The statement is wrapped as ``SELECT value, left(label::text, N + 1), ...
FROM (<sql>) AS q LIMIT $1`` with ``$1 = max_series + 1`` (see
:func:`limited_sql`): an exploding result is cut off by the server, columns
the metric does not use never leave it, and label values longer than the
query's ``max_label_length`` are cut there and again here, where the cut is
logged; one huge text column cannot turn ``/metrics`` (or the exporter's
memory) into hundreds of megabytes.
"""

from __future__ import annotations

import decimal
import logging
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from psycopg import sql

from exporters.common.config import shown
from exporters.sql.config import QuerySpec

log = logging.getLogger(__name__)

# SQLSTATE → (reason label, what it means for a configured query).
_SERVER_REASONS = {
    "25006": ("read_only",
              "refused: it tried to write, and queries run in a read-only transaction"),
    "25001": ("read_only", "refused: it tried to change the read-only transaction"),
    "42501": ("privilege", "refused: the role lacks a privilege"),
    "42703": ("bad_result", "the result lacks a column the query config names"),
    "42702": ("bad_result", "more than one column of the result has that name"),
}

# Every value of the `reason` label of vigil_sql_query_last_error_info.
REASONS = ("not_one_statement", "read_only", "timeout", "privilege", "server_error",
           "too_many_series", "bad_result", "unavailable", "error")


class QueryError(RuntimeError):
    """The query failed on the server, or ran but its result cannot become metrics.

    ``reason`` is one of :data:`REASONS`, a bounded label value for alerting
    (a ``not_one_statement`` or ``read_only`` failure means someone tried to
    make a monitoring query write).
    """

    def __init__(self, message: str, reason: str = "bad_result") -> None:
        super().__init__(message)
        self.reason = reason


def limited_sql(spec: QuerySpec) -> sql.Composed:
    """``spec.sql`` reduced by the server to what the metric needs.

    Only the value column and the label columns are returned, label values
    as text cut to ``max_label_length + 1`` characters (one more, so that a
    cut can be told and reported), and at most ``$1`` rows (one more than
    ``max_series``). Whatever else the query computes never leaves the server.
    """
    labels = [
        sql.SQL("left(({})::text, {})").format(
            sql.Identifier(column), sql.Literal(spec.max_label_length + 1))
        for _, column in spec.labels
    ]
    return sql.SQL("SELECT {columns} FROM (\n{body}\n) AS vigil_query LIMIT $1").format(
        columns=sql.SQL(", ").join([sql.Identifier(spec.value), *labels]),
        body=sql.SQL(spec.sql),  # type: ignore[arg-type]  # the configured text, as is
    )


def server_failure(spec: QuerySpec, exc: psycopg.Error) -> QueryError:
    """A server-side error as a :class:`QueryError` naming the query and the cause."""
    message = (exc.diag.message_primary or str(exc)).strip().splitlines()
    detail = message[0] if message else type(exc).__name__
    if exc.sqlstate == "42601" and "multiple commands" in detail:
        reason, meaning = "not_one_statement", "refused: the sql must be exactly one statement"
    elif exc.sqlstate == "57014":
        reason, meaning = "timeout", f"cancelled by the server at its timeout of {spec.timeout:g}s"
    else:
        reason, meaning = _SERVER_REASONS.get(
            exc.sqlstate or "", ("server_error", "failed on the server"))
    return QueryError(f"query {spec.name}: {meaning} (PostgreSQL: {detail[:300]})", reason)


def cut_label_value(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to the query's ``limit`` characters, and whether it was cut.

    The server already sent at most ``limit + 1`` characters (see
    :func:`limited_sql`); this per-query bound, which keeps the data off the
    wire, sits below :func:`exporters.common.exposition.cap_label_value`,
    the exporter-wide bound on what is served.
    """
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def _number(spec: QuerySpec, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float | decimal.Decimal):
        return float(raw)
    raise QueryError(
        f"query {spec.name}: column {spec.value!r} holds {type(raw).__name__}"
        f" {shown(raw)}, not a number"
    )


def _label_value(raw: Any) -> str:
    return "" if raw is None else str(raw)


def to_family(spec: QuerySpec, columns: list[str], rows: list[tuple[Any, ...]]) -> Metric:
    """Build the metric family of ``spec`` from a whole result set (any columns).

    Column names must be unique (``SELECT 1 AS n, 2 AS n`` has no single
    ``n``) and include the value and label columns.
    """
    duplicated = sorted({column for column in columns if columns.count(column) > 1})
    if duplicated:
        raise QueryError(
            f"query {spec.name}: more than one column is named"
            f" {', '.join(map(repr, duplicated))}; give each column its own name"
        )
    index = {column: position for position, column in enumerate(columns)}
    wanted = [spec.value, *(column for _, column in spec.labels)]
    missing = [column for column in wanted if column not in index]
    if missing:
        raise QueryError(
            f"query {spec.name}: result has no column {', '.join(map(repr, missing))}"
            f" (columns: {', '.join(columns) or 'none'})"
        )
    positions = [index[column] for column in wanted]
    return family_from_rows(spec, [tuple(row[at] for at in positions) for row in rows])


def too_many_series(spec: QuerySpec) -> QueryError:
    """The error of a query whose result has more label sets than ``max_series``."""
    return QueryError(
        f"query {spec.name}: more than max_series={spec.max_series} series;"
        " a label column has too many distinct values (series dropped)",
        "too_many_series",
    )


def family_from_rows(spec: QuerySpec, rows: list[tuple[Any, ...]]) -> Metric:
    """Build the metric family of ``spec`` from rows of ``(value, label, ...)``.

    Labels come in the order of ``spec.labels``. A row whose value is NULL
    produces no series (``avg()`` over no rows is "no data", not 0).
    """
    if len(rows) > spec.max_series:
        raise too_many_series(spec)
    label_names = [label for label, _ in spec.labels]
    family: Metric
    if spec.type == "counter":
        family = CounterMetricFamily(spec.metric, spec.help, labels=label_names, unit=spec.unit or "")
    else:
        family = GaugeMetricFamily(spec.metric, spec.help, labels=label_names, unit=spec.unit or "")
    seen: set[tuple[str, ...]] = set()
    cut = 0
    for raw_value, *raw_labels in rows:
        capped = [cut_label_value(_label_value(raw), spec.max_label_length)
                  for raw in raw_labels]
        cut += sum(1 for _, was_cut in capped if was_cut)
        labels = tuple(text for text, _ in capped)
        if labels in seen:
            shown_labels = ", ".join(
                f"{n}={shown(v)}" for n, v in zip(label_names, labels, strict=True)
            )
            raise QueryError(f"query {spec.name}: two rows have the same labels ({shown_labels})")
        seen.add(labels)
        number = _number(spec, raw_value)
        if number is not None:
            family.add_metric(list(labels), number)
    if cut:
        log.warning("query %s: %d label values longer than max_label_length=%d were cut",
                    spec.name, cut, spec.max_label_length)
    return family


def run(spec: QuerySpec, cursor: Any) -> list[Metric]:
    """Execute ``spec`` as one statement on ``cursor``'s connection (in its transaction)."""
    with psycopg.RawCursor(cursor.connection) as raw:
        try:
            # prepare=False: an unnamed statement, parsed afresh each run; no
            # server-side prepared statement outlives the run (or trips a pooler).
            raw.execute(limited_sql(spec), (spec.max_series + 1,), prepare=False)
        except psycopg.Error as exc:
            if exc.sqlstate is None:  # not an answer from the server: the connection failed
                raise
            raise server_failure(spec, exc) from exc
        return [family_from_rows(spec, raw.fetchall())]
