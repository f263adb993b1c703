"""The statistics the postgres exporter reads, one group per function.

Each group runs in its own short read-only transaction (see
:mod:`exporters.postgres.session`), so a group that fails — a missing
privilege, ``pg_stat_statements`` created but not preloaded — costs only its
own series and its own ``vigil_pg_collector_success{collector}``; the other
groups still report.

Every function takes a cursor and returns finished metric families. Names
follow the metric contract (``vigil_pg_...``) and Prometheus conventions:
cumulative server counters become ``_total`` counters, times are seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

Cursor = Any  # psycopg.Cursor; kept loose so the group table stays readable
Group = Callable[[Cursor], list[Metric]]

# Every state pg_stat_activity can report for a client backend. Each one is
# always exported (0 when empty) so that rate and ratio queries never see a
# series appear from nowhere.
CONNECTION_STATES = (
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
)


def connections(cur: Cursor) -> list[Metric]:
    """Client connections by state, and the ``max_connections`` they count against."""
    cur.execute(
        """
        SELECT coalesce(state, 'unknown'), count(*)
        FROM pg_stat_activity
        WHERE backend_type = 'client backend'
        GROUP BY 1
        """
    )
    counts = {state: 0 for state in CONNECTION_STATES}
    for state, count in cur.fetchall():
        counts[state] = int(count)
    by_state = GaugeMetricFamily(
        "vigil_pg_connections",
        "Client connections by state (pg_stat_activity).",
        labels=["state"],
    )
    for state, count in counts.items():
        by_state.add_metric([state], count)
    cur.execute("SELECT current_setting('max_connections')::int")
    (max_connections,) = cur.fetchone()
    limit = GaugeMetricFamily(
        "vigil_pg_max_connections",
        "The server's max_connections setting; connections / this = pool use.",
        value=int(max_connections),
    )
    return [by_state, limit]


def databases(cur: Cursor) -> list[Metric]:
    """Per-database transaction, deadlock, cache and size statistics."""
    cur.execute(
        """
        SELECT d.datname, s.xact_commit, s.xact_rollback, s.deadlocks,
               s.blks_hit, s.blks_read,
               CASE WHEN has_database_privilege(d.oid, 'CONNECT')
                         OR pg_has_role('pg_read_all_stats', 'MEMBER')
                    THEN pg_database_size(d.oid) END
        FROM pg_database d
        JOIN pg_stat_database s ON s.datid = d.oid
        ORDER BY d.datname
        """
    )
    rows = cur.fetchall()
    spec: list[tuple[str, str, int, type[Metric]]] = [
        ("vigil_pg_xact_commit_total", "Transactions committed.", 1, CounterMetricFamily),
        ("vigil_pg_xact_rollback_total", "Transactions rolled back.", 2, CounterMetricFamily),
        ("vigil_pg_deadlocks_total", "Deadlocks detected.", 3, CounterMetricFamily),
        ("vigil_pg_blocks_hit_total",
         "Block reads served from shared buffers (cache hits).", 4, CounterMetricFamily),
        ("vigil_pg_blocks_read_total",
         "Block reads that missed shared buffers.", 5, CounterMetricFamily),
        ("vigil_pg_database_size_bytes", "Disk space used by the database.", 6,
         GaugeMetricFamily),
    ]
    families = []
    for name, help_text, column, family_type in spec:
        family = family_type(name, help_text, labels=["datname"])
        for row in rows:
            if row[column] is not None:
                family.add_metric([row[0]], float(row[column]))
        families.append(family)
    return families


def activity(cur: Cursor) -> list[Metric]:
    """The longest running query and the oldest open transaction, in seconds.

    Both exclude the exporter's own backend; both read 0 when there is none,
    so a dashboard shows a flat line rather than a gap.
    """
    cur.execute(
        """
        SELECT
          coalesce(max(extract(epoch FROM now() - query_start))
                   FILTER (WHERE state = 'active' AND backend_type = 'client backend'), 0),
          coalesce(max(extract(epoch FROM now() - xact_start)), 0)
        FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
        """
    )
    longest, oldest = cur.fetchone()
    return [
        GaugeMetricFamily(
            "vigil_pg_longest_query_seconds",
            "Run time of the longest running active query (0 when none).",
            value=max(0.0, float(longest)),
        ),
        GaugeMetricFamily(
            "vigil_pg_oldest_transaction_age_seconds",
            "Age of the oldest open transaction (0 when none); it holds back vacuum.",
            value=max(0.0, float(oldest)),
        ),
    ]


def locks(cur: Cursor) -> list[Metric]:
    """Lock requests that are waiting for another session."""
    cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
    (waiting,) = cur.fetchone()
    return [
        GaugeMetricFamily(
            "vigil_pg_locks_waiting",
            "Lock requests not yet granted (sessions waiting on a lock).",
            value=int(waiting),
        )
    ]


def statements(cur: Cursor) -> list[Metric]:
    """Calls and execution time summed over ``pg_stat_statements``.

    Absent (no series) when the extension is not installed in the database
    the exporter connects to; ``vigil_pg_longest_query_seconds`` is the
    fallback signal then. When it is installed but not preloaded the query
    fails and this group reports ``collector_success`` 0, which is the
    misconfiguration an operator should see.
    """
    cur.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"
    )
    if cur.fetchone() is None:
        return []
    cur.execute("SELECT current_setting('server_version_num')::int")
    (version,) = cur.fetchone()
    exec_time = "total_exec_time" if version >= 130000 else "total_time"
    cur.execute(
        f"SELECT coalesce(sum(calls), 0), coalesce(sum({exec_time}), 0) / 1000.0"
        " FROM pg_stat_statements"
    )
    calls, seconds = cur.fetchone()
    return [
        CounterMetricFamily(
            "vigil_pg_statements_calls_total",
            "Statement executions tracked by pg_stat_statements.",
            value=float(calls),
        ),
        CounterMetricFamily(
            "vigil_pg_statements_exec_seconds_total",
            "Execution time summed over pg_stat_statements.",
            value=float(seconds),
        ),
    ]


def replication(cur: Cursor) -> list[Metric]:
    """Replication lag, from whichever side of replication this server is.

    On a standby, ``vigil_pg_replication_lag_seconds`` is the replay delay.
    The naive ``now() - pg_last_xact_replay_timestamp()`` grows forever while
    the primary is idle (there is nothing new to replay), so while WAL is
    streaming it reads 0 when everything received has been replayed. A standby
    cut off from its primary (no WAL receiver streaming: the primary is down,
    unreachable or refuses it) has replayed everything it received, yet it
    does not know how far behind it is: it reads the age of its last replayed
    transaction (or of its own start, if it has replayed none), which grows
    until streaming resumes, rather than a reassuring 0. Without
    ``pg_read_all_stats`` (part of ``pg_monitor``) PostgreSQL hides the
    receiver's status; a receiver process is then taken as streaming.

    On a primary it reads 0, and
    ``vigil_pg_replica_lag_seconds{application_name,kind}`` gives each
    replica's write/flush/replay lag; PostgreSQL reports NULL for a replica
    that is caught up and idle, which is exported as 0. The replication_lag
    signal takes the maximum of both, so the primary's exporter alone sees its
    standbys' lag.
    """
    cur.execute(
        """
        SELECT pg_is_in_recovery(),
               CASE WHEN NOT pg_is_in_recovery() THEN 0
                    WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver
                                     WHERE coalesce(status, 'streaming') = 'streaming')
                    THEN greatest(0, extract(epoch FROM now() - coalesce(
                             pg_last_xact_replay_timestamp(), pg_postmaster_start_time())))
                    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                    ELSE greatest(0, extract(epoch FROM
                                  now() - pg_last_xact_replay_timestamp()))
               END
        """
    )
    in_recovery, lag = cur.fetchone()
    families: list[Metric] = []
    own = GaugeMetricFamily(
        "vigil_pg_replication_lag_seconds",
        "On a standby, how far replay is behind (0 when caught up and streaming; the age of"
        " the last replayed transaction when no WAL is streaming); 0 on a primary.",
    )
    if lag is not None:
        own.add_metric([], float(lag))
    families.append(own)
    if in_recovery:
        return families
    cur.execute(
        """
        SELECT coalesce(application_name, ''),
               coalesce(max(extract(epoch FROM write_lag)), 0),
               coalesce(max(extract(epoch FROM flush_lag)), 0),
               coalesce(max(extract(epoch FROM replay_lag)), 0)
        FROM pg_stat_replication
        GROUP BY 1
        ORDER BY 1
        """
    )
    replicas = GaugeMetricFamily(
        "vigil_pg_replica_lag_seconds",
        "Per replica, seconds between a local WAL flush and the replica's"
        " write, flush or replay of it (pg_stat_replication).",
        labels=["application_name", "kind"],
    )
    for name, write, flush, replay in cur.fetchall():
        for kind, value in (("write", write), ("flush", flush), ("replay", replay)):
            replicas.add_metric([name, kind], float(value))
    families.append(replicas)
    return families


GROUPS: dict[str, Group] = {
    "connections": connections,
    "databases": databases,
    "activity": activity,
    "locks": locks,
    "statements": statements,
    "replication": replication,
}

