"""Counters of new rows, for business events that live in a table: ``watermark:``.

Why not ``SELECT count(*)`` exported as a counter: a table of events shrinks when a
retention job purges old rows. Prometheus reads any drop of a counter as a restart
from zero, so 48,213 rows purged down to 30,000 read as 30,000 new failed logins, and
security was paged for events that had happened weeks before. A count is a gauge; an
event counter must only ever go up.

What this module does instead: the query returns one row per event with a column
that grows with every new row (an identity or ``bigserial`` id). The exporter keeps
the highest value seen (the watermark) and, each run, counts only the rows past it::

    SELECT count(*), <labels>, max(<watermark>) FROM (<sql>) AS q
    WHERE <watermark> > $2 GROUP BY <labels> LIMIT $1

and adds those counts to counters it holds itself. Deleting old rows never changes
what lies past the watermark, so a purge counts nothing, and new rows inserted in the
same interval as a purge are still counted (a positive-difference counter would lose
them: a purge of 1,000 rows hides one new suspicious event).

The counters start at 0 when the exporter starts (the first run only reads the
watermark and the label sets present): a restart is then an ordinary counter reset,
which Prometheus handles; events between the old process's last run and the new
one's first are not counted. Rows whose watermark is below one already seen when
they become visible (a long transaction that took id 100 committing after id 101 was
counted) are not counted either: the watermark column should follow commit order as
closely as possible.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from prometheus_client.core import Metric
from psycopg import sql

from exporters.sql.config import QuerySpec
from exporters.sql.query import cut_label_value, family_from_rows, server_failure, too_many_series

Labels = tuple[str, ...]


def counting_sql(spec: QuerySpec, past_watermark: bool) -> sql.Composed:
    """Count and watermark of ``spec``'s rows per label set; ``$1`` row limit, ``$2`` watermark.

    Label values are cut on the server to ``max_label_length + 1`` characters, as
    :func:`exporters.sql.query.limited_sql` does for ordinary queries.
    """
    assert spec.watermark is not None
    watermark = sql.Identifier(spec.watermark)
    labels = [
        sql.SQL("left(({})::text, {})").format(
            sql.Identifier(column), sql.Literal(spec.max_label_length + 1))
        for _, column in spec.labels
    ]
    where = sql.SQL("WHERE {} > $2").format(watermark) if past_watermark else sql.SQL("")
    group = sql.SQL("GROUP BY {}").format(sql.SQL(", ").join(
        sql.Literal(position) for position in range(2, len(labels) + 2))) if labels else sql.SQL("")
    return sql.SQL(
        "SELECT count(*), {labels}max({watermark}) FROM (\n{body}\n) AS vigil_query"
        " {where} {group} LIMIT $1"
    ).format(
        labels=sql.SQL("").join(sql.SQL("{}, ").format(label) for label in labels),
        watermark=watermark, body=sql.SQL(spec.sql),  # type: ignore[arg-type]  # as configured
        where=where, group=group,
    )


class WatermarkCounter:
    """The counters of one ``watermark:`` query, kept across runs."""

    def __init__(self, spec: QuerySpec) -> None:
        if spec.watermark is None or spec.type != "counter":
            raise ValueError(f"query {spec.name} is not a watermark counter")
        self.spec = spec
        self._lock = threading.Lock()
        self._started = False
        self._watermark: Any = None  # None: no row seen yet, every row is new
        self._counts: dict[Labels, float] = {} if spec.labels else {(): 0.0}

    def run(self, cursor: Any) -> list[Metric]:
        """Count the rows past the watermark on ``cursor``'s connection; return the family."""
        with self._lock:
            past = self._watermark is not None
            rows = self._fetch(cursor, past)
            counts = dict(self._counts)
            watermark = self._watermark
            for count, *raw_labels, highest in rows:
                labels = tuple(cut_label_value("" if raw is None else str(raw),
                                               self.spec.max_label_length)[0]
                               for raw in raw_labels)
                counts[labels] = counts.get(labels, 0.0) + (float(count) if self._started else 0.0)
                if highest is not None and (watermark is None or highest > watermark):
                    watermark = highest
            if len(counts) > self.spec.max_series:  # checked before it is kept: memory stays bounded
                raise too_many_series(self.spec)
            self._counts, self._watermark, self._started = counts, watermark, True
            return [family_from_rows(self.spec, [(value, *labels)
                                                 for labels, value in sorted(counts.items())])]

    def _fetch(self, cursor: Any, past: bool) -> list[tuple[Any, ...]]:
        params: tuple[Any, ...] = (self.spec.max_series + 1,)
        if past:
            params += (self._watermark,)
        with psycopg.RawCursor(cursor.connection) as raw:
            try:
                raw.execute(counting_sql(self.spec, past), params, prepare=False)
            except psycopg.Error as exc:
                if exc.sqlstate is None:  # not an answer from the server: the connection failed
                    raise
                raise server_failure(self.spec, exc) from exc
            rows = raw.fetchall()
        return rows
