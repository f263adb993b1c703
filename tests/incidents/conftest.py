"""Fixtures of the incident recorder's tests: one real PostgreSQL, a database per test.

The cluster is module-wide (starting PostgreSQL costs seconds); every test gets its
own database, so tests do not see each other's incidents and can run in parallel.
The recorder runs in-process on the exporters' real HTTP server, on a free port.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from exporters.common.server import MetricsServer
from exporters.common.webconfig import WebConfig
from exporters.incidents.policy import Policy, Targets
from exporters.incidents.service import Recorder, build
from tests.exporters.postgres.helpers import wait_for
from tests.pg import PgCluster, available, running_cluster

__all__ = ["POLICY", "Database", "running_recorder", "wait_for"]

POLICY = Policy({"critical": Targets("P0", 900.0, 3600.0),
                 "warning": Targets("P2", 7200.0, 86400.0)}, suppression=300.0)
_numbers = itertools.count()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    if not available():
        pytest.skip("PostgreSQL server binaries are not installed")
    with running_cluster() as started:
        yield started


@dataclass
class Database:
    cluster: PgCluster
    name: str

    @property
    def dsn(self) -> str:
        return self.cluster.dsn(self.name)

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=3)

    def rows(self, sql: str = "SELECT * FROM vigil_incidents.incidents ORDER BY id") -> list[dict]:
        from psycopg.rows import dict_row

        with self.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            try:
                cur.execute(sql)
            except psycopg.errors.UndefinedTable:  # the recorder has not migrated yet
                return []
            return list(cur.fetchall())


@pytest.fixture
def database(cluster: PgCluster) -> Database:
    name = f"incidents_{next(_numbers)}_{int(time.time() * 1000) % 100000}"
    cluster.create_database(name)
    return Database(cluster, name)


@contextlib.contextmanager
def running_recorder(connect: Callable[[], psycopg.Connection[Any]], policy: Policy = POLICY,
                     web_config: WebConfig | None = None, port: int = 0, **kwargs: Any
                     ) -> Iterator[tuple[Recorder, MetricsServer]]:
    web = web_config or WebConfig()
    recorder = build(policy, connect, web, interval=1.0, **kwargs)
    recorder.writer.backoff_max = 1.0
    server = MetricsServer(recorder.exporter.registry, "127.0.0.1", port, web,
                           routes=recorder.routes)
    recorder.start()
    server.start()
    try:
        yield recorder, server
    finally:
        server.shutdown()
        recorder.stop()
