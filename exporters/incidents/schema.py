"""The incident store's schema, created and migrated by the recorder itself.

Each migration is a list of statements with a version number; `migrate` applies the
ones the database has not seen, in order, each in its own transaction together with
its row in `schema_version`, under an advisory lock so that two recorders starting at
once do not race. A database whose schema is newer than this code is refused rather
than written to in a format the code does not know.

Migrations are append-only: a released one is never edited, a change is a new one.
"""

from __future__ import annotations

from typing import Any

import psycopg

SCHEMA = "vigil_incidents"
_LOCK_KEY = 0x76_69_67_69_6C_69  # "vigili": one advisory lock id for migrations

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        f"""CREATE TABLE {SCHEMA}.incidents (
            id bigserial PRIMARY KEY,
            fingerprint text NOT NULL,
            alertname text NOT NULL,
            severity text NOT NULL,
            priority text NOT NULL,
            team text NOT NULL DEFAULT '',
            signal text NOT NULL DEFAULT '',
            summary text NOT NULL DEFAULT '',
            labels jsonb NOT NULL,
            started_at timestamptz NOT NULL,
            resolved_at timestamptz,
            last_notified_at timestamptz NOT NULL,
            notifications integer NOT NULL DEFAULT 1,
            flaps integer NOT NULL DEFAULT 0,
            receivers text[] NOT NULL DEFAULT '{{}}',
            escalation_level integer NOT NULL DEFAULT 1,
            acknowledged_at timestamptz,
            acknowledged_by text,
            response_target_seconds double precision,
            resolution_target_seconds double precision
        )""",
        f"CREATE INDEX incidents_fingerprint ON {SCHEMA}.incidents (fingerprint, started_at DESC)",
        f"CREATE UNIQUE INDEX incidents_one_open ON {SCHEMA}.incidents (fingerprint) "
        "WHERE resolved_at IS NULL",
        f"CREATE INDEX incidents_started ON {SCHEMA}.incidents (started_at DESC)",
    )),
)
LATEST = MIGRATIONS[-1][0]


class SchemaError(RuntimeError):
    """The database holds a schema this code cannot use."""


def current_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()
    if row is None or row[0] is None:
        return 0
    found = conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version").fetchone()
    return int(found[0]) if found else 0


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema to :data:`LATEST`; returns the version it was at before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        before = current_version(conn)
        if before > LATEST:
            raise SchemaError(f"the incident store's schema is version {before}, newer than "
                              f"this Vigil knows ({LATEST}); upgrade Vigil")
        for version, statements in MIGRATIONS:
            if version <= before:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)", (version,))
    return before
