"""A real PostgreSQL primary (and, on demand, a streaming standby) for the suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from exporters.common.exporter import Exporter
from exporters.postgres.exporter import PostgresSettings, build_exporter
from tests import pg

pytestmark = pytest.mark.slow

if not pg.available():  # pragma: no cover - depends on the machine
    pytest.skip("PostgreSQL server binaries are not installed", allow_module_level=True)

MAX_CONNECTIONS = 30  # test_pg_metrics.py saturates exactly this many


@pytest.fixture(scope="session")
def primary() -> Iterator[pg.PgCluster]:
    cluster = pg.PgCluster.create(
        settings={"max_connections": MAX_CONNECTIONS},
        pg_stat_statements=True,
    )
    cluster.start()
    cluster.execute("CREATE EXTENSION pg_stat_statements")
    cluster.create_database("noext")
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session")
def standby(primary: pg.PgCluster) -> Iterator[pg.PgCluster]:
    replica = primary.create_standby(name="replica1")
    yield replica
    replica.destroy()


@pytest.fixture
def make_exporter() -> Iterator[Callable[..., Exporter]]:
    """Build in-process exporters against a cluster over TCP with its password."""
    built: list[Exporter] = []

    def make(cluster: pg.PgCluster, dbname: str = "postgres", **overrides: object) -> Exporter:
        options: dict[str, object] = {
            "dsn": cluster.dsn(dbname, tcp=True),
            "password": cluster.password,
            "interval": 1.0,
            "timeout": 2.0,
            "connect_timeout": 2.0,
            "backoff_max": 0.5,
        }
        options.update(overrides)
        exporter = build_exporter(PostgresSettings(**options))  # type: ignore[arg-type]
        built.append(exporter)
        return exporter

    yield make
    for exporter in built:
        exporter.stop()
