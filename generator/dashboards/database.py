"""Database: query time, connections against the limit, deadlocks, replication, cache hits."""

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
HIT = "sum by (instance) (rate(vigil_pg_blocks_hit_total{$sel}[$window]))"
READ = "sum by (instance) (rate(vigil_pg_blocks_read_total{$sel}[$window]))"


def _extras(ctx: Context) -> list[Any]:
    q = ctx.query
    return [
        row(ctx, "PostgreSQL detail"),
        stat(
            id=ctx.ids(), title="PostgreSQL reachable", unit="bool", grid=ctx.place(6, 8),
            description="Whether the exporter's last connection to PostgreSQL worked. When it "
                        "did not, every other database panel is stale.",
            targets=[target(q("min(vigil_pg_up{$sel})", EXPORTER))],
            mappings=UP_MAPPINGS, colour_mode="background",
            steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
        ),
        timeseries(
            id=ctx.ids(), title="Connections against the limit", unit="short", grid=ctx.place(9, 8),
            description="Connections by state, stacked, against max_connections (the line): "
                        "the pool limit the connection pool usage signal divides by.",
            targets=[
                target(q("sum by (state) (vigil_pg_connections{$sel})", EXPORTER), "A", "{{state}}"),
                target(q("max(vigil_pg_max_connections{$sel})", EXPORTER), "B", "max_connections"),
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
            targets=[target(q(f"{HIT} / ({HIT} + {READ})", EXPORTER), "A", "{{instance}}")],
            minimum=0, maximum=1,
        ),
        timeseries(
            id=ctx.ids(), title="Transactions", unit="ops", grid=ctx.place(8, 8),
            description="Commits and rollbacks per second; a rise in rollbacks often comes "
                        "with application errors or deadlocks.",
            targets=[
                target(q("sum by (instance) (rate(vigil_pg_xact_commit_total{$sel}[$window]))",
                         EXPORTER), "A", "{{instance}} commits"),
                target(q("sum by (instance) (rate(vigil_pg_xact_rollback_total{$sel}[$window]))",
                         EXPORTER), "B", "{{instance}} rollbacks"),
            ],
            minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Sessions waiting for locks", unit="short", grid=ctx.place(8, 8),
            description="Sessions waiting for a lock. Long waits precede deadlocks and "
                        "connection pile-ups.",
            targets=[target(q("max by (instance) (vigil_pg_locks_waiting{$sel})", EXPORTER),
                            "A", "{{instance}} waiting")],
            minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Oldest transaction age", unit="s", grid=ctx.place(8, 8),
            description="Age of the oldest open transaction: it holds back vacuum, so tables "
                        "bloat while it stays open.",
            targets=[target(q("max by (instance) (vigil_pg_oldest_transaction_age_seconds{$sel})",
                              EXPORTER), "A", "{{instance}}")],
            minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Replica lag by standby", unit="s", grid=ctx.place(12, 8),
            description="On the primary: how far each standby is behind, by stage (write, "
                        "flush, replay).",
            targets=[target(q("max by (application_name, kind) (vigil_pg_replica_lag_seconds{$sel})",
                              EXPORTER), "A", "{{application_name}} {{kind}}")],
            minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Database size", unit="bytes", grid=ctx.place(12, 8),
            description="Size on disk of each database.",
            targets=[target(q("max by (datname) (vigil_pg_database_size_bytes{$sel})", EXPORTER),
                            "A", "{{datname}}")],
            minimum=0,
        ),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    return signal_dashboard(spec, "database",
                            "PostgreSQL: query time, connections, deadlocks, replication, cache.",
                            _extras, [EXPORTER])
