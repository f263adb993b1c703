"""The read-only promise against a role that owns the tables it reads.

A configured query is untrusted text. Whatever it contains, it runs as one
statement, in a read-only transaction, under its timeout; a query that tries
to get out is reported failed with its reason and the data is unchanged.
The exporter connects as the *owner* of the tables here: privileges are not
what stops these writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter
from exporters.sql.exporter import build
from tests.exporters.postgres.helpers import run_tasks, value
from tests.pg import PgCluster

pytestmark = pytest.mark.slow

OWNER = "shop_owner"
OWNER_PASSWORD = "owner-secret-pw"
ROWS = 50


@pytest.fixture(scope="module")
def owned(shop: PgCluster) -> Iterator[PgCluster]:
    """Database ``owned``: ``login_attempts`` and a deleting function, owned by the login role."""
    shop.create_database("owned")
    shop.execute(f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'")
    shop.execute(f"ALTER DATABASE owned OWNER TO {OWNER}")
    with shop.connect("owned") as conn:
        conn.execute(f"SET ROLE {OWNER}")
        conn.execute("CREATE TABLE login_attempts (id serial PRIMARY KEY, username text)")
        conn.execute("INSERT INTO login_attempts (username)"
                     f" SELECT 'user' || g FROM generate_series(1, {ROWS}) g")
        conn.execute("CREATE SEQUENCE owned_seq")
        conn.execute("""
            CREATE FUNCTION delete_attempts() RETURNS int LANGUAGE plpgsql AS $$
            BEGIN DELETE FROM login_attempts; RETURN 1; END $$""")
        conn.execute("""
            CREATE FUNCTION writable_then_delete() RETURNS int LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM set_config('transaction_read_only', 'off', true);
              DELETE FROM login_attempts; RETURN 1;
            END $$""")
        conn.execute("""
            CREATE FUNCTION untimed_sleep() RETURNS int LANGUAGE sql
            SET statement_timeout = 0 AS 'SELECT 1 FROM pg_sleep(4)'""")
    yield shop


@pytest.fixture
def make_owner_exporter(owned: PgCluster) -> Iterator[Callable[..., Exporter]]:
    built: list[Exporter] = []

    def make(sql: str, **extra: object) -> Exporter:
        exporter = build(ConfigNode({
            "dsn": owned.dsn("owned", user=OWNER, tcp=True),
            "password": OWNER_PASSWORD,
            "connect_timeout": "2s",
            "backoff_max": "500ms",
            "queries": [{"name": "q", "metric": "vigil_test_q", "help": "A test query.",
                         "value": "v", "sql": sql, **extra}],
        }, "sql.yml"))
        built.append(exporter)
        return exporter

    yield make
    for exporter in built:
        exporter.stop()


def rows(cluster: PgCluster) -> int:
    return int(cluster.scalar("SELECT count(*) FROM login_attempts", dbname="owned"))


def last_error_reasons(exporter: Exporter) -> list[str]:
    return [s.labels["reason"] for f in exporter.registry.collect()
            if f.name == "vigil_sql_query_last_error_info" for s in f.samples]


def run_failed(exporter: Exporter, caplog: pytest.LogCaptureFixture,
               reason: str | None = None) -> str:
    """Run the query once; assert it is reported failed (with ``reason``); return the log line."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        run_tasks(exporter)
    if reason is not None:
        assert last_error_reasons(exporter) == [reason]
    assert value(exporter, "vigil_sql_query_success", {"query": "q"}) == 0
    assert value(exporter, "vigil_sql_query_errors_total", {"query": "q"}) == 1
    assert value(exporter, "vigil_test_q") is None
    failures = [r.getMessage() for r in caplog.records if "collector q failed" in r.getMessage()]
    assert len(failures) == 1, caplog.text
    return failures[0]


BREAKOUTS = [
    "SELECT 1 AS v) a; COMMIT; DELETE FROM login_attempts; SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; ROLLBACK; DELETE FROM login_attempts; SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; END; DELETE FROM login_attempts; SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;"
    " DELETE FROM login_attempts; SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; SET default_transaction_read_only = off; COMMIT;"
    " DELETE FROM login_attempts; SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; COMMIT; BEGIN READ WRITE; DELETE FROM login_attempts; COMMIT;"
    " SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; SET statement_timeout = 0; COMMIT;"
    " SELECT 1 AS v FROM pg_sleep(6); SELECT * FROM (SELECT 1 AS v",
    "SELECT 1 AS v) a; COMMIT; SELECT pg_sleep(6); SELECT * FROM (SELECT 1 AS v",
]


@pytest.mark.parametrize("sql", BREAKOUTS)
def test_a_query_cannot_break_out_of_its_statement(
    owned: PgCluster, make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture, sql: str
) -> None:
    exporter = make_owner_exporter(sql, timeout="2s")
    reason = run_failed(exporter, caplog, "not_one_statement")
    assert "query q: refused: the sql must be exactly one statement" in reason
    assert "cannot insert multiple commands into a prepared statement" in reason
    assert rows(owned) == ROWS
    # Refused by the server before anything ran: not a 6 s sleep cut at 2 s.
    assert value(exporter, "vigil_sql_query_duration_seconds", {"query": "q"}) < 2


def test_a_query_cannot_make_its_transaction_writable(
    owned: PgCluster, make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = make_owner_exporter("SELECT set_config('transaction_read_only', 'off', true) AS v")
    reason = run_failed(exporter, caplog, "read_only")
    assert "query q: refused: it tried to change the read-only transaction" in reason


WRITTEN = "refused: it tried to write, and queries run in a read-only transaction"
WRITES = [
    ("SELECT delete_attempts() AS v", WRITTEN),
    ("SELECT writable_then_delete() AS v",
     "refused: it tried to change the read-only transaction"),
    ("SELECT set_config('transaction_read_only', 'off', true) AS s, delete_attempts() AS v",
     "refused: it tried to change the read-only transaction"),
    # Inside the LIMIT wrapper a data-modifying WITH does not even parse.
    ("WITH gone AS (DELETE FROM login_attempts RETURNING id) SELECT count(*) AS v FROM gone",
     "failed on the server (PostgreSQL: WITH clause containing a data-modifying statement"),
    ("SELECT id AS v FROM login_attempts FOR UPDATE", WRITTEN),
    ("SELECT nextval('owned_seq') AS v", WRITTEN),
]


@pytest.mark.parametrize(("sql", "expected"), WRITES)
def test_a_single_statement_cannot_write(
    owned: PgCluster, make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture,
    sql: str, expected: str,
) -> None:
    exporter = make_owner_exporter(sql)
    reason = run_failed(exporter, caplog, "server_error" if "failed on" in expected else "read_only")
    assert f"query q: {expected}" in reason
    assert rows(owned) == ROWS
    assert owned.scalar("SELECT last_value FROM owned_seq", dbname="owned") == 1
    assert owned.scalar("SELECT is_called FROM owned_seq", dbname="owned") is False


@pytest.mark.parametrize("sql", [
    "SELECT set_config('statement_timeout', '0', true) AS s, 1 AS v FROM pg_sleep(4)",
    "SELECT set_config('statement_timeout', '0', false) AS s, 1 AS v FROM pg_sleep(4)",
    "SELECT untimed_sleep() AS v",  # a function with its own SET statement_timeout = 0
])
def test_a_statement_cannot_lift_its_own_timeout(
    make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture, sql: str
) -> None:
    # statement_timeout is armed when the statement starts; changing the
    # setting inside it does not disarm it.
    exporter = make_owner_exporter(sql, timeout="1s")
    reason = run_failed(exporter, caplog, "timeout")
    assert "query q: cancelled by the server at its timeout of 1s" in reason
    assert "canceling statement due to statement timeout" in reason


def test_session_changes_do_not_outlive_the_run(make_owner_exporter: Callable) -> None:
    # Each run is rolled back, so a setting a query changes for its session
    # (set_config(..., false)) is gone by the next run.
    exporter = make_owner_exporter(
        "SELECT current_setting('work_mem') AS mem, set_config('work_mem', '77MB', false) AS s,"
        " 1 AS v",
        labels=["mem"],
    )
    run_tasks(exporter)
    first = {s.labels["mem"] for f in exporter.registry.collect() if f.name == "vigil_test_q"
             for s in f.samples}
    run_tasks(exporter)
    second = {s.labels["mem"] for f in exporter.registry.collect() if f.name == "vigil_test_q"
              for s in f.samples}
    assert first == second
    assert "77MB" not in second


@pytest.mark.parametrize("sql", [
    "SELECT pg_advisory_lock(4242) AS l, 1 AS v",
    "SELECT pg_advisory_lock(4242) AS l, 1 / (random() * 0)::int AS v",  # the lock, then an error
])
def test_a_query_cannot_keep_a_lock_after_its_run(owned: PgCluster,
                                                  make_owner_exporter: Callable, sql: str) -> None:
    # Session-level advisory locks outlive transactions, rolled back or not;
    # each run releases them.
    exporter = make_owner_exporter(sql)
    run_tasks(exporter)
    assert owned.scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
    ) == 0


def test_a_percent_sign_and_a_trailing_semicolon_are_fine(
    make_owner_exporter: Callable,
) -> None:
    exporter = make_owner_exporter(
        "SELECT count(*) AS v FROM login_attempts WHERE username LIKE 'user1%';"
    )
    run_tasks(exporter)
    assert value(exporter, "vigil_test_q") == 11  # user1, user10..user19
    assert last_error_reasons(exporter) == []


@pytest.mark.parametrize(("sql", "expected"), [
    # Duplicate column names: "the last one wins" no more.
    ("SELECT 1 AS v, 2 AS v", "more than one column of the result has that name"
     ' (PostgreSQL: column reference "v" is ambiguous)'),
    ("SELECT 1 AS w", "the result lacks a column the query config names"
     ' (PostgreSQL: column "v" does not exist)'),
])
def test_a_result_without_exactly_one_value_column_is_an_error(
    make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture, sql: str, expected: str
) -> None:
    reason = run_failed(make_owner_exporter(sql), caplog, "bad_result")
    assert f"query q: {expected}" in reason


def test_label_values_are_the_columns_text(make_owner_exporter: Callable) -> None:
    exporter = make_owner_exporter(
        "SELECT true AS flag, 2.50::numeric AS amount, NULL::text AS nothing, 1 AS v",
        labels=["flag", "amount", "nothing"],
    )
    run_tasks(exporter)
    assert value(exporter, "vigil_test_q",
                 {"flag": "true", "amount": "2.50", "nothing": ""}) == 1


def test_huge_label_values_are_cut(
    make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = make_owner_exporter(
        "SELECT g::text || repeat('x', 1000000) AS k, g AS v FROM generate_series(1, 3) g",
        labels=["k"], max_label_length=100,
    )
    with caplog.at_level(logging.WARNING):
        run_tasks(exporter)
    assert value(exporter, "vigil_sql_query_success", {"query": "q"}) == 1
    values = sorted(s.labels["k"] for f in exporter.registry.collect()
                    if f.name == "vigil_test_q" for s in f.samples)
    assert [len(v) for v in values] == [100, 100, 100]
    assert [v[0] for v in values] == ["1", "2", "3"]
    assert "query q: 3 label values longer than max_label_length=100 were cut" in caplog.text


def test_rows_are_cut_off_by_the_server_at_max_series(
    make_owner_exporter: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    # A hundred million rows, produced one at a time (a set-returning
    # function in the select list streams; in FROM it would be materialized
    # first, and only the timeout would stop it). Produced in full they would
    # hit the 2 s timeout; the server stops after max_series + 1 rows instead.
    exporter = make_owner_exporter(
        "SELECT g::text AS k, g AS v FROM (SELECT generate_series(1, 100000000) AS g) s",
        labels=["k"], max_series=10, timeout="2s",
    )
    reason = run_failed(exporter, caplog, "too_many_series")
    assert "query q: more than max_series=10 series" in reason
