"""Counters past a watermark against a real PostgreSQL: purges count nothing, new rows count.

The old way, `count(*)` exported as a counter, fell when a retention job purged old
rows and Prometheus read the remainder as new events. Here the table is purged from
48 rows to 30 while new rows arrive in the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from exporters.common.exporter import Exporter
from tests.exporters.postgres.helpers import run_tasks, value
from tests.pg import PgCluster

pytestmark = pytest.mark.slow

TABLE = "watermark_events"


def query(**overrides: object) -> dict:
    return {"name": "events", "metric": "vigil_test_events_total", "type": "counter",
            "help": "Events.", "watermark": "id", "interval": "1s", "timeout": "1s",
            "sql": f"SELECT id, kind FROM {TABLE} WHERE flagged", **overrides}


@pytest.fixture
def events(shop: PgCluster, reader: tuple[str, str]) -> Iterator[Callable[..., None]]:
    shop.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, kind text, flagged boolean)",
                 dbname="shop")
    shop.execute(f"GRANT SELECT ON {TABLE} TO {reader[0]}", dbname="shop")

    def insert(count: int, kind: str = "login", flagged: bool = True) -> None:
        shop.execute(f"INSERT INTO {TABLE} (kind, flagged) SELECT %s, %s FROM generate_series(1, %s)",
                     (kind, flagged, count), dbname="shop")

    insert(48)  # old events, already there when the exporter starts
    yield insert
    shop.execute(f"DROP TABLE {TABLE}", dbname="shop")


def counted(exporter: Exporter, labels: dict[str, str] | None = None) -> float | None:
    """Run the exporter's queries once and read the counter (None: no such series)."""
    run_tasks(exporter)
    return value(exporter, "vigil_test_events_total", labels)


def purge(shop: PgCluster, keep: int) -> None:
    shop.execute(f"DELETE FROM {TABLE} WHERE id NOT IN "
                 f"(SELECT id FROM {TABLE} ORDER BY id DESC LIMIT %s)", (keep,), dbname="shop")


def test_a_purge_counts_nothing_and_new_rows_still_count(shop, events, make_exporter) -> None:
    exporter = make_exporter({"queries": [query()]})
    assert counted(exporter) == 0  # the rows already there are history
    events(3)
    assert counted(exporter) == 3

    purge(shop, keep=30)  # 51 rows down to 30: count(*) would drop by 21
    assert counted(exporter) == 3

    purge(shop, keep=10)  # a purge and new rows in the same interval
    events(2)
    events(5, flagged=False)  # not selected by the query's WHERE
    assert counted(exporter) == 5
    assert value(exporter, "vigil_sql_query_success", {"query": "events"}) == 1


def test_a_restarted_exporter_starts_again_at_zero(events, make_exporter) -> None:
    """A normal counter reset: Prometheus counts from the new process's first sample."""
    first = make_exporter({"queries": [query()]})
    run_tasks(first)
    events(4)
    assert counted(first) == 4
    first.stop()
    second = make_exporter({"queries": [query()]})
    assert counted(second) == 0
    events(1)
    assert counted(second) == 1


def test_labels_present_at_start_are_served_at_zero(events, make_exporter) -> None:
    """A label set first seen with its first event would hide that event from increase()."""
    events(2, kind="card_testing")
    exporter = make_exporter({"queries": [query(labels=["kind"])]})
    assert counted(exporter, {"kind": "login"}) == 0
    assert value(exporter, "vigil_test_events_total", {"kind": "card_testing"}) == 0
    events(1, kind="card_testing")
    events(2, kind="impossible_travel")
    assert counted(exporter, {"kind": "login"}) == 0
    assert value(exporter, "vigil_test_events_total", {"kind": "card_testing"}) == 1
    assert value(exporter, "vigil_test_events_total", {"kind": "impossible_travel"}) == 2


def test_label_sets_past_max_series_are_refused_and_not_kept(events, make_exporter) -> None:
    exporter = make_exporter({"queries": [query(labels=["kind"], max_series=3)]})
    run_tasks(exporter)  # one label set: login
    events(1, kind="a")
    events(1, kind="b")
    assert counted(exporter, {"kind": "b"}) == 1
    events(1, kind="c")  # a fourth label set
    assert counted(exporter, {"kind": "c"}) is None
    assert value(exporter, "vigil_sql_query_last_error_info",
                 {"query": "events", "reason": "too_many_series"}) == 1
    assert value(exporter, "vigil_test_events_total", {"kind": "login"}) is None  # all dropped


def test_an_empty_table_at_start_counts_every_later_row(shop, events, make_exporter) -> None:
    shop.execute(f"DELETE FROM {TABLE}", dbname="shop")
    exporter = make_exporter({"queries": [query()]})
    assert counted(exporter) == 0
    events(2)
    assert counted(exporter) == 2
