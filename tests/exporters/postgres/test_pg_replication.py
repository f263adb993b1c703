"""Replication lag against a real streaming standby.

The standby's replay delay must read 0 while the primary is idle (the naive
``now() - pg_last_xact_replay_timestamp()`` grows forever then), and must
read the true delay when replay falls behind. Replay is held back with
``pg_wal_replay_pause()`` to make it fall behind on demand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.exporters.postgres.helpers import run_tasks, value, wait_for
from tests.pg import PgCluster

pytestmark = pytest.mark.slow


def current_lsn(primary: PgCluster) -> str:
    # The insert position, not pg_current_wal_lsn(): the test cluster commits
    # asynchronously, so a commit record may still sit in WAL buffers.
    return str(primary.scalar("SELECT pg_current_wal_insert_lsn()"))


def replayed(standby: PgCluster, lsn: str) -> bool:
    return bool(standby.scalar("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)))


def received(standby: PgCluster, lsn: str) -> bool:
    return bool(standby.scalar("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", (lsn,)))


def mark_and_wait(primary: PgCluster, standby: PgCluster) -> str:
    """Write a marker on the primary and wait until the standby has replayed it."""
    primary.execute("INSERT INTO replication_marker VALUES (now())")
    lsn = current_lsn(primary)
    wait_for(lambda: replayed(standby, lsn), 10)
    return lsn


@pytest.fixture
def marker_table(primary: PgCluster, standby: PgCluster) -> Iterator[None]:
    primary.execute("CREATE TABLE IF NOT EXISTS replication_marker (at timestamptz)")
    lsn = current_lsn(primary)
    wait_for(lambda: replayed(standby, lsn), 10)
    yield
    standby.execute("SELECT pg_wal_replay_resume()")


def test_idle_primary_reads_zero_lag_on_the_standby(
    primary: PgCluster, standby: PgCluster, marker_table: None, make_exporter: Callable
) -> None:
    exporter = make_exporter(standby)
    mark_and_wait(primary, standby)
    time.sleep(1.2)  # nothing happens on the primary meanwhile
    naive = standby.scalar(
        "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
    )
    assert naive > 1.0  # what a naive exporter would report
    run_tasks(exporter, {"replication"})
    assert value(exporter, "vigil_pg_up") == 1
    assert value(exporter, "vigil_pg_replication_lag_seconds") == 0
    # A standby has no replicas of its own.
    assert value(exporter, "vigil_pg_replica_lag_seconds",
                 {"application_name": "replica1", "kind": "replay"}) is None


def test_paused_replay_reads_the_true_delay(
    primary: PgCluster, standby: PgCluster, marker_table: None, make_exporter: Callable
) -> None:
    exporter = make_exporter(standby)
    before_a = time.time()
    primary.execute("INSERT INTO replication_marker VALUES (now())")
    after_a = time.time()
    lsn_a = current_lsn(primary)
    wait_for(lambda: replayed(standby, lsn_a), 10)

    standby.execute("SELECT pg_wal_replay_pause()")
    primary.execute("INSERT INTO replication_marker VALUES (now())")
    lsn_b = current_lsn(primary)
    wait_for(lambda: received(standby, lsn_b), 10)
    time.sleep(1.0)

    start = time.time()
    run_tasks(exporter, {"replication"})
    end = time.time()
    # The standby shows data as of commit A: its delay is the time since A.
    lag = value(exporter, "vigil_pg_replication_lag_seconds")
    assert start - after_a - 0.05 <= lag <= end - before_a + 0.05
    assert lag >= 1.0

    standby.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: replayed(standby, lsn_b), 10)
    run_tasks(exporter, {"replication"})
    assert value(exporter, "vigil_pg_replication_lag_seconds") == 0


def test_primary_reports_each_replica_by_kind(
    primary: PgCluster, standby: PgCluster, marker_table: None, make_exporter: Callable
) -> None:
    exporter = make_exporter(primary)

    def caught_up() -> bool:
        run_tasks(exporter, {"replication"})
        return all(
            (value(exporter, "vigil_pg_replica_lag_seconds",
                   {"application_name": "replica1", "kind": kind}) or 0) < 0.5
            for kind in ("write", "flush", "replay")
        )

    # An earlier pause's measurement lingers for a moment after catching up.
    wait_for(caught_up, 10, 0.2, "replica never reported as caught up")
    assert value(exporter, "vigil_pg_replication_lag_seconds") == 0
    for kind in ("write", "flush", "replay"):
        lag = value(exporter, "vigil_pg_replica_lag_seconds",
                    {"application_name": "replica1", "kind": kind})
        assert lag is not None and 0 <= lag < 0.5, kind

    standby.execute("SELECT pg_wal_replay_pause()")
    paused_at = time.time()
    primary.execute("INSERT INTO replication_marker VALUES (now())")
    lsn = current_lsn(primary)

    def replay_behind() -> bool:
        run_tasks(exporter, {"replication"})
        replay = value(exporter, "vigil_pg_replica_lag_seconds",
                       {"application_name": "replica1", "kind": "replay"})
        return replay is not None and replay >= 1.0

    # The standby still writes and flushes what it receives; only replay waits.
    wait_for(replay_behind, 6, 0.2, "replay lag never grew while replay was paused")
    assert value(exporter, "vigil_pg_replica_lag_seconds",
                 {"application_name": "replica1", "kind": "replay"}) <= (
        time.time() - paused_at + 0.1)
    assert value(exporter, "vigil_pg_replica_lag_seconds",
                 {"application_name": "replica1", "kind": "write"}) < 0.5

    standby.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: replayed(standby, lsn), 10)
    wait_for(caught_up, 10, 0.2, "replay lag did not come back down")


@pytest.fixture
def lone_standby(primary: PgCluster) -> Iterator[PgCluster]:
    """A standby of its own, so that cutting it off leaves the shared one streaming."""
    primary.execute("CREATE TABLE IF NOT EXISTS replication_marker (at timestamptz)")
    replica = primary.create_standby(name="cutoff")
    yield replica
    replica.destroy()


def streaming(standby: PgCluster) -> bool:
    return bool(standby.scalar("SELECT count(*) FROM pg_stat_wal_receiver"
                               " WHERE status = 'streaming'"))


def test_a_standby_cut_off_from_its_primary_does_not_read_zero(
    primary: PgCluster, lone_standby: PgCluster, make_exporter: Callable
) -> None:
    """Everything received is replayed, but nothing arrives: the lag is unknown, not 0."""
    exporter = make_exporter(lone_standby)
    mark_and_wait(primary, lone_standby)
    wait_for(lambda: streaming(lone_standby), 10)
    run_tasks(exporter, {"replication"})
    assert value(exporter, "vigil_pg_replication_lag_seconds") == 0

    conninfo = lone_standby.scalar("SHOW primary_conninfo")
    lone_standby.execute("ALTER SYSTEM SET primary_conninfo = ''")
    lone_standby.execute("SELECT pg_reload_conf()")
    wait_for(lambda: not streaming(lone_standby), 10)
    cut_at = time.time()
    time.sleep(1.2)
    run_tasks(exporter, {"replication"})
    lag = value(exporter, "vigil_pg_replication_lag_seconds")
    assert lag is not None and lag >= 1.2  # at least the time since it was cut off
    assert lag <= time.time() - cut_at + 15  # the age of the marker, not of the cluster

    quoted = conninfo.replace("'", "''")  # ALTER SYSTEM takes no bound parameters
    lone_standby.execute(f"ALTER SYSTEM SET primary_conninfo = '{quoted}'")
    lone_standby.execute("SELECT pg_reload_conf()")
    wait_for(lambda: streaming(lone_standby), 15)
    run_tasks(exporter, {"replication"})
    assert value(exporter, "vigil_pg_replication_lag_seconds") == 0
