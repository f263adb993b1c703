"""The default query config against the seeded demo shop.

The expected values are computed here, in Python, from the seed's rows —
independently of the SQL in ``default_queries.yml`` — so a wrong window, a
wrong filter or a wrong join in a query fails this test.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from statistics import mean

import pytest

from exporters.common.exporter import Exporter
from exporters.sql.demo import seed
from tests.exporters.postgres.helpers import run_tasks, value

pytestmark = pytest.mark.slow

DAY, HOUR, QUARTER = 24 * 3600, 3600, 15 * 60
SEED = 42  # what conftest.shop loaded


def expected_business_metrics(data: seed.SeedData) -> dict[str, float]:
    revenue = sum(
        (p.amount for p in data.payments if p.status == "captured" and p.age < DAY),
        Decimal(0),
    )
    orders_last_hour = sum(1 for o in data.orders if o.age < HOUR)
    sessions_last_hour = sum(1 for s in data.sessions if s.started_age < HOUR)
    processing = [
        o.age - o.completed_age
        for o in data.orders
        if o.completed_age is not None and o.completed_age < HOUR
    ]
    ratings = [r.rating for r in data.satisfaction_responses if r.age < DAY]
    return {
        "vigil_business_daily_revenue": float(revenue),
        "vigil_business_conversion_ratio": orders_last_hour / sessions_last_hour,
        "vigil_business_order_processing_seconds": mean(processing),
        "vigil_business_customer_satisfaction_score": mean(ratings),
        # Counted past a watermark: the rows already there when the exporter starts
        # are history, not new events (see test_sql_watermark.py).
        "vigil_business_failed_logins_total": 0,
        "vigil_business_suspicious_activity_total": 0,
        "vigil_business_active_users": len(
            {s.user_id for s in data.sessions
             if s.last_seen_age < QUARTER and s.user_id is not None}),
    }


def test_seed_is_deterministic_and_covers_every_window() -> None:
    data = seed.generate(SEED)
    assert data == seed.generate(SEED)
    assert data != seed.generate(SEED + 1)
    expected = expected_business_metrics(data)
    # Every metric has something to measure (no 0/absent by accident).
    assert all(v > 0 for name, v in expected.items() if not name.endswith("_total")), expected
    assert any(not a.succeeded for a in data.login_attempts)
    assert any(e.flagged for e in data.security_events)


def test_default_config_yields_every_business_metric(make_exporter: Callable) -> None:
    exporter: Exporter = make_exporter()  # no queries: the shipped defaults
    run_tasks(exporter)
    expected = expected_business_metrics(seed.generate(SEED))
    served = {name: value(exporter, name) for name in expected}
    assert served == pytest.approx(expected, rel=1e-9), served
    for task in exporter.tasks:
        assert value(exporter, "vigil_sql_query_success", {"query": task.name}) == 1
        assert value(exporter, "vigil_sql_query_errors_total", {"query": task.name}) == 0
        assert value(exporter, "vigil_sql_query_last_success_timestamp_seconds",
                     {"query": task.name}) > 0
        assert value(exporter, "vigil_sql_query_interval_seconds",
                     {"query": task.name}) == task.interval
        assert value(exporter, "vigil_sql_collector_success", {"collector": task.name}) == 1


def test_business_metrics_follow_new_rows(shop, make_exporter: Callable) -> None:
    exporter = make_exporter()
    run_tasks(exporter, {"failed_logins", "suspicious_activity"})
    failed = value(exporter, "vigil_business_failed_logins_total")
    flagged = value(exporter, "vigil_business_suspicious_activity_total")
    shop.execute(
        "INSERT INTO login_attempts (username, source_ip, succeeded)"
        " SELECT 'mallory', '203.0.113.9', false FROM generate_series(1, 7)",
        dbname="shop",
    )
    shop.execute(
        "INSERT INTO security_events (kind, flagged) VALUES ('card_testing', true),"
        " ('port_scan', false)",
        dbname="shop",
    )
    try:
        run_tasks(exporter, {"failed_logins", "suspicious_activity"})
        assert value(exporter, "vigil_business_failed_logins_total") == failed + 7
        assert value(exporter, "vigil_business_suspicious_activity_total") == flagged + 1
    finally:
        shop.execute("DELETE FROM login_attempts WHERE username = 'mallory'", dbname="shop")
        shop.execute("DELETE FROM security_events WHERE detail IS NULL AND source_ip IS NULL",
                     dbname="shop")
