"""Database: query time, connections against the limit, deadlocks, replication, cache hits.

The detail panels read the metrics of whichever exporter the spec chose for postgres
(`exporters.postgres`): QUERIES holds each panel's query per exporter, and a panel the
exporter has no metric for is left out rather than drawn empty.
"""

from __future__ import annotations

from typing import Any

from generator.dashboards.context import Context, target
from generator.dashboards.domain import signal_dashboard
from generator.dashboards.panels.common import by_name, dashed_line, fixed_colour
from generator.dashboards.panels.row import row
from generator.dashboards.panels.stat import stat
from generator.dashboards.panels.timeseries import timeseries
from generator.model import Spec

EXPORTER = "postgres"
UP_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "down", "color": "red", "index": 0},
    "1": {"text": "up", "color": "green", "index": 1},
}}]



def _hit_ratio(hit: str, read: str) -> str:
    return (f"sum by (instance) (rate({hit}{{$sel}}[$window])) / (sum by (instance) "
            f"(rate({hit}{{$sel}}[$window])) + sum by (instance) (rate({read}{{$sel}}[$window])))")


# panel → its query per exporter (catalogue.VIGIL or the standard one)
QUERIES: dict[str, dict[str, str]] = {
    "vigil": {
        "up": "min(vigil_pg_up{$sel})",
        "connections": "sum by (state) (vigil_pg_connections{$sel})",
        "max_connections": "max(vigil_pg_max_connections{$sel})",
        "hit_ratio": _hit_ratio("vigil_pg_blocks_hit_total", "vigil_pg_blocks_read_total"),
        "commits": "sum by (instance) (rate(vigil_pg_xact_commit_total{$sel}[$window]))",
        "rollbacks": "sum by (instance) (rate(vigil_pg_xact_rollback_total{$sel}[$window]))",
        "locks_waiting": "max by (instance) (vigil_pg_locks_waiting{$sel})",
        "oldest_transaction": "max by (instance) (vigil_pg_oldest_transaction_age_seconds{$sel})",
        "replica_lag": "max by (application_name, kind) (vigil_pg_replica_lag_seconds{$sel})",
        "database_size": "max by (datname) (vigil_pg_database_size_bytes{$sel})",
    },
    # postgres_exporter 0.11's default metrics: no lock waits, and replication lag
    # only in bytes on the primary (pg_stat_replication_pg_wal_lsn_diff).
    "postgres_exporter": {
        "up": "min(pg_up{$sel})",
        "connections": "sum by (state) (pg_stat_activity_count{$sel})",
        "max_connections": "max(pg_settings_max_connections{$sel})",
        "hit_ratio": _hit_ratio("pg_stat_database_blks_hit", "pg_stat_database_blks_read"),
        "commits": "sum by (instance) (rate(pg_stat_database_xact_commit{$sel}[$window]))",
        "rollbacks": "sum by (instance) (rate(pg_stat_database_xact_rollback{$sel}[$window]))",
        "oldest_transaction": "max by (instance) (pg_stat_activity_max_tx_duration{$sel})",
        "database_size": "max by (datname) (pg_database_size_bytes{$sel})",
    },
}


# One-query panels after the transactions, in order: (query, title, unit, width,
# legend, description); those the exporter has no query for are left out.
SINGLE_PANELS: tuple[tuple[str, str, str, int, str, str], ...] = (
    ("locks_waiting", "Sessions waiting for locks", "short", 8, "{{instance}} waiting",
     "Sessions waiting for a lock. Long waits precede deadlocks and connection pile-ups."),
    ("oldest_transaction", "Oldest transaction age", "s", 8, "{{instance}}",
     "Age of the oldest open transaction: it holds back vacuum, so tables bloat while it "
     "stays open."),
    ("replica_lag", "Replica lag by standby", "s", 12, "{{application_name}} {{kind}}",
     "On the primary: how far each standby is behind, by stage (write, flush, replay)."),
    ("database_size", "Database size", "bytes", 12, "{{datname}}",
     "Size on disk of each database."),
)


def _extras(ctx: Context) -> list[Any]:
    queries = QUERIES[ctx.spec.source_of(EXPORTER)]

    def q(panel: str) -> str:
        return ctx.query(queries[panel], EXPORTER)

    panels = [
        row(ctx, "PostgreSQL detail"),
        stat(
            id=ctx.ids(), title="PostgreSQL reachable", unit="bool", grid=ctx.place(6, 8),
            description="Whether the exporter's last connection to PostgreSQL worked. When it "
                        "did not, every other database panel is stale.",
            targets=[target(q("up"))],
            mappings=UP_MAPPINGS, colour_mode="background",
            steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
        ),
        timeseries(
            id=ctx.ids(), title="Connections against the limit", unit="short", grid=ctx.place(9, 8),
            description="Connections by state, stacked, against max_connections (the line): "
                        "the pool limit the connection pool usage signal divides by.",
            targets=[
                target(q("connections"), "A", "{{state}}"),
                target(q("max_connections"), "B", "max_connections"),
            ],
            overrides=[by_name("max_connections",
                               {"id": "custom.stacking", "value": {"mode": "none", "group": "B"}},
                               dashed_line(), fixed_colour("text"))],
            stacked=True, minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Cache hit ratio", unit="percentunit", grid=ctx.place(9, 8),
            description="Share of block reads served from shared buffers rather than the disk "
                        "or OS cache (blocks hit / (hit + read)). Below ~99 % on an OLTP "
                        "database, the working set no longer fits in memory.",
            targets=[target(q("hit_ratio"), "A", "{{instance}}")],
            minimum=0, maximum=1,
        ),
        timeseries(
            id=ctx.ids(), title="Transactions", unit="ops", grid=ctx.place(8, 8),
            description="Commits and rollbacks per second; a rise in rollbacks often comes "
                        "with application errors or deadlocks.",
            targets=[
                target(q("commits"), "A", "{{instance}} commits"),
                target(q("rollbacks"), "B", "{{instance}} rollbacks"),
            ],
            minimum=0,
        ),
    ]
    for key, title, unit, width, legend, description in SINGLE_PANELS:
        if key not in queries:
            continue
        if key == "database_size" and "replica_lag" not in queries:
            width = 8  # completes the row of the panels before it
        panels.append(timeseries(
            id=ctx.ids(), title=title, unit=unit, grid=ctx.place(width, 8),
            description=description, targets=[target(q(key), "A", legend)], minimum=0,
        ))
    return panels


def dashboard(spec: Spec) -> dict[str, Any]:
    return signal_dashboard(spec, "database",
                            "PostgreSQL: query time, connections, deadlocks, replication, cache.",
                            _extras, [EXPORTER])
