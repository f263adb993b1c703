"""PgSession: read-only, server-side timeouts, reconnect with backoff, no leaked secrets."""

from __future__ import annotations

import logging
import time

import psycopg
import pytest

from exporters.postgres.session import PgSession, SourceUnavailable
from tests.pg import PgCluster, free_port, running_cluster

pytestmark = pytest.mark.slow


def session_for(cluster: PgCluster, **kwargs: object) -> PgSession:
    return PgSession(cluster.dsn(tcp=True), password=cluster.password, **kwargs)  # type: ignore[arg-type]


def test_queries_run_read_only(primary: PgCluster) -> None:
    session = session_for(primary)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            session.run(lambda cur: cur.execute("CREATE TABLE must_not_exist (id int)"),
                        timeout=2)
        assert session.reachable
        assert session.run(lambda cur: cur.execute("SELECT 41 + 1").fetchone(), timeout=2) == (42,)
    finally:
        session.close()
    assert primary.scalar("SELECT to_regclass('must_not_exist')") is None


def test_statement_timeout_cancels_on_the_server(primary: PgCluster) -> None:
    session = session_for(primary, application_name="vigil-timeout-test")
    try:
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            session.run(lambda cur: cur.execute("SELECT pg_sleep(30)"), timeout=0.3)
        assert time.monotonic() - started < 2
        # The server stopped the statement itself: nothing of it is left running.
        assert primary.scalar(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'vigil-timeout-test' AND state = 'active'"
        ) == 0
        # The same connection is still usable, under the next run's own budget.
        assert session.connected
        assert session.run(lambda cur: cur.execute("SELECT pg_sleep(0.5), 1").fetchone()[1],
                           timeout=5) == 1
    finally:
        session.close()


def test_reconnects_with_backoff_after_failures(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    port = free_port()  # nothing listens here
    session = PgSession(
        f"host=127.0.0.1 port={port} dbname=postgres user=postgres password=s3cret-value",
        connect_timeout=1, backoff_initial=1.0, backoff_max=4.0, clock=lambda: now[0],
    )
    attempts = []
    caplog.set_level(logging.WARNING, logger="exporters.postgres.session")
    for step in range(6):
        before = len(caplog.records)
        with pytest.raises(SourceUnavailable):
            session.run(lambda cur: None, timeout=1)
        if len(caplog.records) > before:  # a real connection attempt was made
            attempts.append((step, now[0]))
        now[0] += 1.0
    # Attempts at t=100 (then wait 1s), 101 (wait 2s), 103 (wait 4s, the cap).
    assert [t for _, t in attempts] == [100.0, 101.0, 103.0]
    assert not session.reachable
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "s3cret-value" not in text
    assert "password=***" in text


def test_recovers_when_the_server_comes_back() -> None:
    with running_cluster() as cluster:
        session = session_for(cluster, backoff_initial=0.1, backoff_max=0.2)
        try:
            assert session.run(lambda cur: cur.execute("SELECT 1").fetchone(), timeout=2) == (1,)
            cluster.stop("immediate")
            with pytest.raises((psycopg.OperationalError, SourceUnavailable)):
                session.run(lambda cur: cur.execute("SELECT 1").fetchone(), timeout=2)
            assert not session.reachable
            cluster.start()
            time.sleep(0.3)  # past the backoff
            assert session.run(lambda cur: cur.execute("SELECT 1").fetchone(), timeout=2) == (1,)
            assert session.reachable
        finally:
            session.close()
