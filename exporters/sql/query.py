"""Turn one query's result set into one metric family, or a clear error.

Why the checks: the result of a hand-written SQL statement is untrusted
input. A label column that suddenly holds user ids would create thousands of
series in Prometheus; a duplicated label set would make the exposition
invalid; a text column where a number belongs is a bug in the query. Each of
these raises :class:`QueryError` with the query's name and the cause, the run
counts as failed (``vigil_sql_query_errors_total`` rises) and the query's
series are dropped rather than half-served.

The statement is wrapped as ``SELECT * FROM (<sql>) AS q LIMIT max_series + 1``
so an exploding result is cut off by the server, not shipped in full.
"""

from __future__ import annotations

import decimal
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.sql.config import QuerySpec


class QueryError(RuntimeError):
    """The query ran but its result cannot become metrics."""


def limited_sql(spec: QuerySpec) -> str:
    """``spec.sql`` cut off by the server after one row more than ``max_series``."""
    return f"SELECT * FROM (\n{spec.sql}\n) AS vigil_query LIMIT {spec.max_series + 1}"


def _number(spec: QuerySpec, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float | decimal.Decimal):
        return float(raw)
    raise QueryError(
        f"query {spec.name}: column {spec.value!r} holds {type(raw).__name__}"
        f" {raw!r}, not a number"
    )


def _label_value(raw: Any) -> str:
    return "" if raw is None else str(raw)


def to_family(spec: QuerySpec, columns: list[str], rows: list[tuple[Any, ...]]) -> Metric:
    """Build the metric family of ``spec`` from a result set.

    A row whose value is NULL produces no series (``avg()`` over no rows is
    "no data", not 0).
    """
    index = {column: position for position, column in enumerate(columns)}
    wanted = [spec.value, *(column for _, column in spec.labels)]
    missing = [column for column in wanted if column not in index]
    if missing:
        raise QueryError(
            f"query {spec.name}: result has no column {', '.join(map(repr, missing))}"
            f" (columns: {', '.join(columns) or 'none'})"
        )
    if len(rows) > spec.max_series:
        raise QueryError(
            f"query {spec.name}: more than max_series={spec.max_series} series;"
            " a label column has too many distinct values (series dropped)"
        )
    label_names = [label for label, _ in spec.labels]
    family: Metric
    if spec.type == "counter":
        family = CounterMetricFamily(spec.metric, spec.help, labels=label_names, unit=spec.unit or "")
    else:
        family = GaugeMetricFamily(spec.metric, spec.help, labels=label_names, unit=spec.unit or "")
    value_at = index[spec.value]
    label_at = [index[column] for _, column in spec.labels]
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        labels = tuple(_label_value(row[position]) for position in label_at)
        if labels in seen:
            shown = ", ".join(f"{n}={v!r}" for n, v in zip(label_names, labels, strict=True))
            raise QueryError(f"query {spec.name}: two rows have the same labels ({shown})")
        seen.add(labels)
        number = _number(spec, row[value_at])
        if number is not None:
            family.add_metric(list(labels), number)
    return family


def run(spec: QuerySpec, cursor: Any) -> list[Metric]:
    """Execute ``spec`` on ``cursor`` (inside the session's transaction)."""
    cursor.execute(limited_sql(spec))
    if cursor.description is None:
        raise QueryError(f"query {spec.name}: the statement returned no result set")
    columns = [column.name for column in cursor.description]
    return [to_family(spec, columns, cursor.fetchall())]
