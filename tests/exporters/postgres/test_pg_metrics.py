"""The postgres exporter's metrics, provoked for real on a throwaway cluster."""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from exporters.common.exporter import Exporter
from exporters.common.selfmetrics import vigil_version
from tests.exporters.postgres.helpers import run_tasks, value, wait_for
from tests.pg import PgCluster

pytestmark = pytest.mark.slow

CONTRACT = [
    "vigil_pg_up",
    "vigil_pg_max_connections",
    "vigil_pg_longest_query_seconds",
    "vigil_pg_locks_waiting",
    "vigil_pg_oldest_transaction_age_seconds",
    "vigil_pg_replication_lag_seconds",
    "vigil_pg_statements_calls_total",
    "vigil_pg_statements_exec_seconds_total",
]
PER_DATABASE = [
    "vigil_pg_deadlocks_total",
    "vigil_pg_xact_commit_total",
    "vigil_pg_xact_rollback_total",
    "vigil_pg_blocks_hit_total",
    "vigil_pg_blocks_read_total",
    "vigil_pg_database_size_bytes",
]
MAX_CONNECTIONS = 30  # the suite's cluster (conftest.py)
STATES = ["active", "idle", "idle in transaction", "idle in transaction (aborted)"]


def total_connections(exporter: Exporter) -> float:
    return sum(
        sample.value
        for family in exporter.registry.collect()
        if family.name == "vigil_pg_connections"
        for sample in family.samples
    )


def test_every_contract_metric_is_served(primary: PgCluster, make_exporter: Callable) -> None:
    exporter = make_exporter(primary)
    run_tasks(exporter)
    for name in CONTRACT:
        assert value(exporter, name) is not None, name
    for name in PER_DATABASE:
        assert value(exporter, name, {"datname": "postgres"}) is not None, name
    for state in STATES:
        assert value(exporter, "vigil_pg_connections", {"state": state}) is not None, state
    assert value(exporter, "vigil_pg_up") == 1
    assert value(exporter, "vigil_pg_max_connections") == MAX_CONNECTIONS
    for task in exporter.tasks:
        assert value(exporter, "vigil_pg_collector_success", {"collector": task.name}) == 1
    size = primary.scalar("SELECT pg_database_size('postgres')")
    reported = value(exporter, "vigil_pg_database_size_bytes", {"datname": "postgres"})
    assert reported == pytest.approx(size, rel=0.05)
    build_info = {"version": vigil_version(), "python_version": platform.python_version()}
    assert value(exporter, "vigil_pg_build_info", build_info) == 1


def test_commits_and_rollbacks_count_per_database(primary: PgCluster,
                                                  make_exporter: Callable) -> None:
    exporter = make_exporter(primary)
    run_tasks(exporter, {"databases"})
    labels = {"datname": "noext"}
    commits = value(exporter, "vigil_pg_xact_commit_total", labels)
    rollbacks = value(exporter, "vigil_pg_xact_rollback_total", labels)
    with primary.connect("noext", autocommit=False) as conn:
        for _ in range(5):
            conn.execute("SELECT 1")
            conn.commit()
        for _ in range(3):
            conn.execute("SELECT 1")
            conn.rollback()
    # Closing the session flushes its statistics.

    def moved() -> bool:
        run_tasks(exporter, {"databases"})
        return value(exporter, "vigil_pg_xact_rollback_total", labels) >= rollbacks + 3

    wait_for(moved, 5, 0.2)
    assert value(exporter, "vigil_pg_xact_commit_total", labels) >= commits + 5


def test_statement_statistics_follow_pg_stat_statements(primary: PgCluster,
                                                         make_exporter: Callable) -> None:
    exporter = make_exporter(primary)
    run_tasks(exporter, {"statements"})
    calls = value(exporter, "vigil_pg_statements_calls_total")
    seconds = value(exporter, "vigil_pg_statements_exec_seconds_total")
    with primary.connect() as conn:
        for _ in range(20):
            conn.execute("SELECT 1")
        conn.execute("SELECT pg_sleep(0.3)")
    run_tasks(exporter, {"statements"})
    assert value(exporter, "vigil_pg_statements_calls_total") >= calls + 21
    assert value(exporter, "vigil_pg_statements_exec_seconds_total") >= seconds + 0.3


def test_without_pg_stat_statements_only_the_longest_query_remains(
    primary: PgCluster, make_exporter: Callable
) -> None:
    exporter = make_exporter(primary, dbname="noext")
    run_tasks(exporter)
    assert value(exporter, "vigil_pg_statements_calls_total") is None
    assert value(exporter, "vigil_pg_statements_exec_seconds_total") is None
    assert value(exporter, "vigil_pg_collector_success", {"collector": "statements"}) == 1
    assert value(exporter, "vigil_pg_longest_query_seconds") == 0


def test_waiting_lock_long_query_and_old_transaction(primary: PgCluster,
                                                     make_exporter: Callable) -> None:
    primary.execute("CREATE TABLE IF NOT EXISTS lockme (id int)")
    exporter = make_exporter(primary)
    holder = primary.connect(autocommit=False)
    holder.execute("LOCK TABLE lockme IN ACCESS EXCLUSIVE MODE")
    started = time.monotonic()
    waiter_error: list[BaseException] = []

    def wait_on_lock() -> None:
        try:
            with primary.connect() as conn:
                conn.execute("SELECT count(*) FROM lockme")
        except BaseException as exc:  # reported by the assertion below
            waiter_error.append(exc)

    waiter = threading.Thread(target=wait_on_lock)
    waiter.start()
    try:
        wait_for(lambda: primary.scalar("SELECT count(*) FROM pg_locks WHERE NOT granted"), 5)
        time.sleep(1.0)
        run_tasks(exporter, {"locks", "activity"})
        elapsed = time.monotonic() - started
        assert value(exporter, "vigil_pg_locks_waiting") == 1
        # The waiting SELECT is the longest active query; the holder's
        # transaction is the oldest one.
        assert 0.9 <= value(exporter, "vigil_pg_longest_query_seconds") <= elapsed + 0.5
        assert 1.0 <= value(exporter, "vigil_pg_oldest_transaction_age_seconds") <= elapsed + 0.5
    finally:
        holder.rollback()
        holder.close()
        waiter.join(5)
    assert not waiter_error
    run_tasks(exporter, {"locks", "activity"})
    assert value(exporter, "vigil_pg_locks_waiting") == 0
    assert value(exporter, "vigil_pg_longest_query_seconds") < 0.5


def test_a_real_deadlock_moves_the_counter(primary: PgCluster, make_exporter: Callable) -> None:
    primary.execute("DROP TABLE IF EXISTS deadlock_demo")
    primary.execute("CREATE TABLE deadlock_demo (id int PRIMARY KEY, v int)")
    primary.execute("INSERT INTO deadlock_demo VALUES (1, 0), (2, 0)")
    exporter = make_exporter(primary)
    labels = {"datname": "postgres"}
    run_tasks(exporter, {"databases"})
    before = value(exporter, "vigil_pg_deadlocks_total", labels)

    first = primary.connect(autocommit=False)
    second = primary.connect(autocommit=False)
    errors: list[BaseException] = []

    def update(conn: psycopg.Connection, row: int) -> None:
        try:
            conn.execute("UPDATE deadlock_demo SET v = v + 1 WHERE id = %s", (row,))
        except psycopg.errors.DeadlockDetected as exc:
            errors.append(exc)

    update(first, 1)
    update(second, 2)
    blocked = threading.Thread(target=update, args=(first, 2))
    blocked.start()
    wait_for(lambda: primary.scalar("SELECT count(*) FROM pg_locks WHERE NOT granted"), 5)
    update(second, 1)  # closes the cycle; one of the two is chosen as victim
    blocked.join(10)
    first.close()
    second.close()  # a backend flushes its statistics when it exits
    assert len(errors) == 1, errors

    def counted() -> bool:
        run_tasks(exporter, {"databases"})
        return value(exporter, "vigil_pg_deadlocks_total", labels) == before + 1

    wait_for(counted, 5, 0.2, "deadlock not counted")


def test_saturating_connections_moves_the_pool_ratio(primary: PgCluster,
                                                     make_exporter: Callable) -> None:
    primary.execute("DROP ROLE IF EXISTS app")
    primary.execute("CREATE ROLE app LOGIN")
    exporter = make_exporter(primary)
    run_tasks(exporter, {"connections"})
    baseline = total_connections(exporter) / value(exporter, "vigil_pg_max_connections")
    assert baseline < 0.2

    opened: list[psycopg.Connection] = []
    try:
        # An application role fills every slot it may use; the server refuses
        # the next one (superuser_reserved_connections remain).
        with pytest.raises(psycopg.OperationalError, match="remaining connection slots"):
            for _ in range(MAX_CONNECTIONS):
                opened.append(psycopg.connect(primary.dsn(user="app"), connect_timeout=5))
        run_tasks(exporter, {"connections"})
        ratio = total_connections(exporter) / value(exporter, "vigil_pg_max_connections")
        reserved = int(primary.scalar("SHOW superuser_reserved_connections"))
        assert ratio >= (MAX_CONNECTIONS - reserved) / MAX_CONNECTIONS
        assert ratio > 0.8  # the pool-use alert threshold would fire
        assert value(exporter, "vigil_pg_connections", {"state": "idle"}) >= len(opened)
    finally:
        for conn in opened:
            conn.close()

    def drained() -> bool:
        run_tasks(exporter, {"connections"})
        return total_connections(exporter) / MAX_CONNECTIONS <= baseline + 0.05

    wait_for(drained, 5, 0.1)
