"""Query behaviour against the real demo database: failures, limits, timeouts, schedules."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from exporters.common.config import ConfigNode
from exporters.sql.exporter import build
from tests.exporters.postgres.helpers import (
    ExporterProcess,
    run_tasks,
    sample,
    value,
    wait_for,
)
from tests.pg import PgCluster, running_cluster

pytestmark = pytest.mark.slow


def query(name: str, sql: str, **extra: object) -> dict:
    return {
        "name": name,
        "metric": f"vigil_test_{name}",
        "help": f"Test query {name}.",
        "value": "v",
        "sql": sql,
        **extra,
    }


def test_a_failing_query_drops_its_series_and_counts_the_error(
    shop: PgCluster, reader: tuple[str, str], make_exporter: Callable
) -> None:
    shop.execute("CREATE TABLE IF NOT EXISTS flaky (region text, amount int)", dbname="shop")
    shop.execute("TRUNCATE flaky", dbname="shop")
    shop.execute("INSERT INTO flaky VALUES ('eu', 3), ('us', 4)", dbname="shop")
    shop.execute(f"GRANT SELECT ON flaky TO {reader[0]}", dbname="shop")
    exporter = make_exporter({"queries": [
        query("flaky", "SELECT region, amount AS v FROM flaky", labels=["region"]),
        query("steady", "SELECT 1 AS v"),
    ]})
    run_tasks(exporter)
    assert value(exporter, "vigil_test_flaky", {"region": "eu"}) == 3
    assert value(exporter, "vigil_test_flaky", {"region": "us"}) == 4

    shop.execute("ALTER TABLE flaky RENAME TO flaky_gone", dbname="shop")
    try:
        run_tasks(exporter)
        # No stale value: the series are gone, the failure is visible and counted.
        assert value(exporter, "vigil_test_flaky", {"region": "eu"}) is None
        assert value(exporter, "vigil_sql_query_success", {"query": "flaky"}) == 0
        assert value(exporter, "vigil_sql_query_errors_total", {"query": "flaky"}) == 1
        assert value(exporter, "vigil_sql_collector_success", {"collector": "flaky"}) == 0
        # The other query is unaffected.
        assert value(exporter, "vigil_test_steady") == 1
        assert value(exporter, "vigil_sql_query_errors_total", {"query": "steady"}) == 0
        run_tasks(exporter, {"flaky"})
        assert value(exporter, "vigil_sql_query_errors_total", {"query": "flaky"}) == 2
    finally:
        shop.execute("ALTER TABLE flaky_gone RENAME TO flaky", dbname="shop")
    run_tasks(exporter, {"flaky"})
    assert value(exporter, "vigil_test_flaky", {"region": "us"}) == 4
    assert value(exporter, "vigil_sql_query_success", {"query": "flaky"}) == 1
    assert value(exporter, "vigil_sql_query_errors_total", {"query": "flaky"}) == 2


def test_cardinality_limit_stops_an_exploding_label(
    make_exporter: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = make_exporter({"queries": [
        query("per_user", "SELECT user_id, count(*) AS v FROM orders GROUP BY user_id",
              labels=["user_id"], max_series=10),
        query("per_status", "SELECT status, count(*) AS v FROM orders GROUP BY status",
              labels={"order_status": "status"}, max_series=10),
    ]})
    run_tasks(exporter)
    families = {f.name: f for f in exporter.registry.collect()}
    assert "vigil_test_per_user" not in families or not families["vigil_test_per_user"].samples
    assert value(exporter, "vigil_sql_query_errors_total", {"query": "per_user"}) == 1
    assert value(exporter, "vigil_sql_query_success", {"query": "per_user"}) == 0
    assert "query per_user: more than max_series=10 series" in caplog.text
    # A bounded label set under the limit is served, with the label renamed.
    assert value(exporter, "vigil_test_per_status", {"order_status": "completed"}) > 0


def test_queries_cannot_write(shop: PgCluster, reader: tuple[str, str],
                              make_exporter: Callable) -> None:
    # Even with the privilege to advance a sequence, a query cannot: it runs
    # in a read-only transaction.
    shop.execute(f"GRANT USAGE ON SEQUENCE orders_id_seq TO {reader[0]}", dbname="shop")
    before = shop.scalar("SELECT last_value FROM orders_id_seq", dbname="shop")
    exporter = make_exporter({"queries": [
        query("sneaky", "SELECT nextval('orders_id_seq') AS v"),
    ]})
    run_tasks(exporter)
    assert value(exporter, "vigil_sql_query_errors_total", {"query": "sneaky"}) == 1
    assert value(exporter, "vigil_test_sneaky") is None
    assert shop.scalar("SELECT last_value FROM orders_id_seq", dbname="shop") == before


def test_each_query_runs_on_its_own_schedule(make_exporter: Callable) -> None:
    exporter = make_exporter({"queries": [
        query("fast", "SELECT 1 AS v", interval="1s", timeout="200ms"),
        query("slow_schedule", "SELECT 2 AS v", interval="1h", timeout="5s"),
    ]})
    exporter.start()
    time.sleep(2.5)
    runs = {task.name: task.state().runs_total for task in exporter.tasks}
    assert runs["slow_schedule"] == 1
    assert 2 <= runs["fast"] <= 4  # every second for 2.5 s


def write_config(path: Path, shop: PgCluster, user: str, queries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({
        "dsn": shop.dsn("shop", user=user, tcp=True),
        "password": {"env": "VIGIL_SQL_PASSWORD"},
        "queries": queries,
    }))
    return path


def test_a_slow_query_is_cancelled_on_the_server_and_never_slows_scrapes(
    shop: PgCluster, reader: tuple[str, str], tmp_path: Path
) -> None:
    user, password = reader
    config = write_config(tmp_path / "sql.yml", shop, user, [
        query("sleepy", "SELECT 1 AS v FROM pg_sleep(10)", interval="2500ms", timeout="1500ms"),
        query("quick", "SELECT 42 AS v", interval="1s", timeout="500ms"),
    ])
    env = {"VIGIL_SQL_PASSWORD": password}
    with ExporterProcess("sql", config, env=env) as exporter:
        def sleepy_errors() -> float:
            return sample(exporter.scrape().text, "vigil_sql_query_errors_total",
                          query="sleepy") or 0

        wait_for(lambda: sleepy_errors() >= 1, 10, 0.1, "slow query never counted")
        text = exporter.scrape().text
        assert sample(text, "vigil_test_sleepy") is None
        assert sample(text, "vigil_sql_query_success", query="sleepy") == 0
        # The server cancelled it at its statement_timeout: the run lasted
        # about 1.5 s, not the 10 s the statement asked for.
        assert 1.4 <= sample(text, "vigil_sql_query_duration_seconds", query="sleepy") < 3
        assert sample(text, "vigil_test_quick") == 42

        # Between runs nothing of it is left on the server.
        def no_leftover() -> bool:
            return shop.scalar(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'vigil-sql:sleepy' AND state = 'active'"
            ) == 0
        wait_for(no_leftover, 5, 0.05)
        assert "canceling statement due to statement timeout" in shop.log_tail(200)

        # Scrapes stay fast while the slow query is running, 50 at a time.
        wait_for(lambda: not no_leftover(), 5, 0.02, "the slow query never ran again")
        barrier = threading.Barrier(50)

        def one_scrape(_: int) -> tuple[int, float]:
            barrier.wait(10)
            started = time.monotonic()
            response = requests.get(exporter.url + "/metrics", timeout=10)
            return response.status_code, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(one_scrape, range(50)))
        assert [status for status, _ in results] == [200] * 50
        latencies = sorted(latency for _, latency in results)
        print(f"50 concurrent scrapes during a slow query: median"
              f" {statistics.median(latencies) * 1000:.1f} ms,"
              f" max {latencies[-1] * 1000:.1f} ms")
        single = []
        for _ in range(5):
            started = time.monotonic()
            assert sample(exporter.scrape().text, "vigil_test_quick") == 42
            single.append(time.monotonic() - started)
        # All of that happened while the slow statement was running: a scrape
        # does not wait for a query.
        assert not no_leftover()
        assert max(single) < 1.0
        wait_for(lambda: sleepy_errors() >= 2, 5, 0.1, "second run not counted")
        assert exporter.proc.poll() is None
        log = exporter.log()
    assert "canceling statement due to statement timeout" in log
    assert password not in log


def test_queries_recover_on_their_own_after_a_database_restart() -> None:
    with running_cluster() as cluster:
        exporter = build(ConfigNode({
            "dsn": cluster.dsn(tcp=True),
            "password": cluster.password,
            "backoff_max": "200ms",
            "queries": [query("alive", "SELECT 1 AS v")],
        }, "sql.yml"))
        try:
            run_tasks(exporter)
            assert value(exporter, "vigil_test_alive") == 1
            cluster.stop("fast")
            run_tasks(exporter)
            assert value(exporter, "vigil_test_alive") is None
            assert value(exporter, "vigil_sql_query_errors_total", {"query": "alive"}) == 1
            assert value(exporter, "vigil_sql_query_last_error_info",
                         {"query": "alive", "reason": "unavailable"}) == 1
            cluster.start()

            def back() -> bool:
                run_tasks(exporter)
                return value(exporter, "vigil_test_alive") == 1

            wait_for(back, 10, 0.1, "query did not recover after the restart")
            assert value(exporter, "vigil_sql_query_success", {"query": "alive"}) == 1
            assert value(exporter, "vigil_sql_query_last_error_info",
                         {"query": "alive", "reason": "unavailable"}) is None
        finally:
            exporter.stop()
